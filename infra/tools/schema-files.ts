import { eventJsonSchema } from './event-json-schema';
import { profileItemJsonSchema } from '../../shared/profile/profile-item-codec';
import { audienceSetJsonSchema } from './audience-json-schema';

/** Every JSON Schema the repository publishes, with the function that generates it. */
export const SCHEMA_FILES: readonly { file: string; generate: () => unknown }[] = [
  { file: 'shared/contract/event-contract.v1.schema.json', generate: eventJsonSchema },
  // v1 stays published: v1 code still writes such items during a rolling deploy.
  { file: 'shared/profile/profile-item.v1.schema.json', generate: () => profileItemJsonSchema(1) },
  { file: 'shared/profile/profile-item.v2.schema.json', generate: () => profileItemJsonSchema(2) },
  { file: 'shared/profile/profile-item.v3.schema.json', generate: () => profileItemJsonSchema(3) },
  { file: 'shared/profile/profile-item.v4.schema.json', generate: () => profileItemJsonSchema(4) },
  { file: 'shared/profile/profile-item.v5.schema.json', generate: () => profileItemJsonSchema(5) },
  { file: 'shared/profile/profile-item.v6.schema.json', generate: () => profileItemJsonSchema(6) },
  { file: 'shared/audiences/audience-set.v1.schema.json', generate: audienceSetJsonSchema },
];
