/**
 * Restore Test and Restore's entry point for nodes. restoreTestSet / restoreSet / fetchRemoteSet
 * pick the engine by the set's manifest (and the restore server): callers never choose an engine
 * module. The engine-specific functions stay exported for callers that already use them.
 */
export {
	fetchRemoteSet,
	filesRestoreHost,
	restoreSet,
	restoreTestSet,
	type DatabaseRestoreServer,
	type FetchedSet,
	type FilesRestoreServer,
	type PostgresRestoreServer,
	type RemoteSetChoice,
	type RestoreServer,
	type RestoreSetRequest,
	type RestoreTestSetRequest,
	type SqlServerRestoreServer,
} from './by-engine';
export { restoreReportHtml, type ReportLanguage } from './html-report';
export type { RestoreReport, RealRestoreReport } from '../restore-shared/report';
export {
	runRestore,
	runRestoreTest,
	type RestoreRequest,
	type RealRestoreRequest,
} from '../sources/postgres/restore/set-restore';
export { runSqlServerSetRestore, runSqlServerSetRestoreTest } from '../sources/sqlserver/restore/set-restore';
export type { FetchedRemoteSet } from './remote/download-folder';
export { fetchRemoteDatabaseSet } from './remote/postgres';
export { fetchRemoteSqlServerChain } from './remote/sqlserver';
export { findLocalDatabaseSet, findLocalSet } from './select-set';
export { runFilesRestoreTest, type FilesRestoreTestRequest } from '../sources/protheus-files/restore-test';
export {
	fetchRemoteRestorePoint,
	findRestorePoint,
	findRestorePointBeside,
	restoreRestorePoint,
	restoreTestRestorePoint,
	type FetchedRestorePoint,
	type RestorePointReport,
	type RestorePointRestoreReport,
	type RestorePointRestoreRequest,
	type RestorePointSets,
	type RestorePointTestRequest,
} from './restore-point';
export { fetchRemoteFilesChain, type FetchedRemoteFilesChain } from './remote/files';
export { restoreFilesSet, type FilesRestoreReport } from '../sources/protheus-files/restore/files-restore';
