import { GetObjectCommand, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';

/** An object's bytes, or undefined when the key does not exist (any other error is thrown). */
export async function readObjectIfExists(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<Uint8Array | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await out.Body!.transformToByteArray();
  } catch (error) {
    if (error instanceof NoSuchKey) return undefined;
    throw error;
  }
}
