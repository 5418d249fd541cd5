/** Erasure against the emulators with ids stored raw (the default): see `erasure-scenario.ts`. */
import { describeErasureScenario } from './erasure-scenario';

describeErasureScenario(false);
