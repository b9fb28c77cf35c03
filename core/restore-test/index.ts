/**
 * Restore Test and Restore's entry point for nodes (engine dispatch lives behind it). Until the
 * engine folders own their parts, this re-exports the current modules.
 */
export { restoreReportHtml, type ReportLanguage } from './html-report';
export type { RestoreReport, RealRestoreReport } from '../restore-shared/report';
export {
	runRestore,
	runRestoreTest,
	type RestoreRequest,
	type RealRestoreRequest,
} from '../sources/postgres/restore/set-restore';
export { runSqlServerSetRestore, runSqlServerSetRestoreTest } from '../sources/sqlserver/restore/set-restore';
export { fetchRemoteDatabaseSet, type FetchedRemoteSet } from './remote-set';
export { fetchRemoteSqlServerChain } from './sqlserver-remote-set';
export { findLocalDatabaseSet } from './select-set';
