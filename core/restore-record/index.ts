/**
 * Restore-test records on a destination: what Restore Test writes after each test and TOTVS
 * Monitor reads. See record.ts for the layout and why.
 */
export {
	RESTORE_RECORD_FORMAT,
	RESTORE_RECORD_SIGNATURE_SUFFIX,
	MAX_RESTORE_RECORD_BYTES,
	MAX_CHECKS,
	MAX_CHECK_TEXT,
	RestoreRecordError,
	parseRestoreRecord,
	parseRestoreRecordName,
	restoreRecordFileName,
	restoreRecordPath,
	serializeRestoreRecord,
	type RecordName,
	type RecordOutcome,
	type RestoreRecord,
	type RestoreRecordCheck,
	type RestoreServer,
} from './record';
export {
	buildRestoreRecord,
	writeRestoreRecord,
	type RestoreRecordInput,
	type WriteRestoreRecordOptions,
	type WrittenRestoreRecord,
} from './writer';
export {
	listRestoreRecords,
	readRestoreRecord,
	type ListRestoreRecordsOptions,
	type ListedRestoreRecord,
} from './reader';
