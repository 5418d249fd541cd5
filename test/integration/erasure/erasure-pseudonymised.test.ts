/**
 * Erasure against the emulators with `pseudonymiseIds` on: the request names raw ids, the erase function
 * hashes them with the key ingest and archive use; see `erasure-scenario.ts`.
 */
import { describeErasureScenario } from './erasure-scenario';

describeErasureScenario(true);
