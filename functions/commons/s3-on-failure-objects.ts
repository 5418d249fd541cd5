import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { OnFailureObjects } from '../../shared/privacy/scrub-on-failure-record';
import { readObjectIfExists } from './s3-objects';

/** The on-failure destination bucket of the stream consumers, read and rewritten in place. */
export class S3OnFailureObjects implements OnFailureObjects {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  /** The object's bytes, or undefined when it no longer exists. */
  read(key: string): Promise<Uint8Array | undefined> {
    return readObjectIfExists(this.s3, this.bucket, key);
  }

  /** Overwrite the object (the bucket's default encryption applies, as to Lambda's own write). */
  async write(key: string, data: Uint8Array): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: data, ContentType: 'application/json' }),
    );
  }
}
