import { eventJsonSchema } from '../../shared/contract/event-json-schema';

/** Every JSON Schema the repository publishes, with the function that generates it. */
export const SCHEMA_FILES: readonly { file: string; generate: () => unknown }[] = [
  { file: 'shared/contract/event-contract.v1.schema.json', generate: eventJsonSchema },
];
