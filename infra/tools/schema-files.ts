import { eventJsonSchema } from './event-json-schema';
import { profileItemJsonSchema } from '../../shared/profile/profile-item-codec';

/** Every JSON Schema the repository publishes, with the function that generates it. */
export const SCHEMA_FILES: readonly { file: string; generate: () => unknown }[] = [
  { file: 'shared/contract/event-contract.v1.schema.json', generate: eventJsonSchema },
  { file: 'shared/profile/profile-item.v1.schema.json', generate: profileItemJsonSchema },
];
