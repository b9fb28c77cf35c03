/**
 * PostgreSQL point-in-time recovery: base backups (pg_basebackup) and WAL sets (pg_receivewal)
 * forming chains, their verification, the replication slot's safety, and restore tests to a
 * point in time. Nodes and orchestration import this engine from here only.
 */
export {
	takeBaseBackup,
	defaultPitrOptions,
	type PitrBackupOptions,
	type PitrRunRequest,
	type BaseBackupOutcome,
} from './base-backup';
export { collectWal, type WalCollectRequest, type WalCollectOutcome } from './wal-collect';
export {
	checkChain,
	requireChain,
	bestSegments,
	chainEnd,
	chainEndTime,
	type ChainReport,
	type ChainCheckOptions,
} from './chain';
export { verifyBaseBackup, verifyChain, type BaseVerifyReport, type BaseVerifyRequest } from './verify';
export {
	restoreTestToPointInTime,
	setsFor,
	type PitrTarget,
	type PitrRestoreTestRequest,
	type PitrRestoreReport,
	type PitrCheck,
} from './restore-test';
export { restoreToPointInTime, type PitrRestoreRequest, type PitrRestoreResult } from './restore';
export {
	makePitrBase,
	makePitrIncremental,
	chainsOf,
	newestChain,
	chainToContinue,
	chainForTarget,
	checkPitrSet,
	defaultScratchFolder,
	pitrRecordOf,
	type PitrManifest,
	type PitrRunInput,
	type PitrRunResult,
} from './sets';
export { preflight, requirePreflight, type PreflightReport, type PreflightRequest } from './preflight';
export { slotReport, releaseWal, dropSlot, ensureSlot, probeReplication } from './slot';
export { slotNameFor, DEFAULT_SLOT_WARN_BYTES } from './server';
export { findPitrClient, findServerBinaries } from './tools';
export { parseLsn, formatLsn, segmentName } from './lsn';
export {
	PITR_ENGINE,
	ARTIFACT_KIND,
	pitrSourceSchema,
	pitrSectionSchema,
	type PitrSourceFacts,
	type PitrBaseSection,
	type PitrWalSection,
	type PitrSection,
	type PitrSegment,
	type PitrSetRecord,
	type PitrTablespace,
	type SlotReport,
} from './manifest';
