/** Verify's entry point for nodes: picks the engine's structural checks by manifest.engine. */
export { verifyLocalSet, type CheckResult, type Verification, type VerifyOptions } from './verify-set';
