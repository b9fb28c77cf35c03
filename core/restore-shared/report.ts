import type { Manifest } from '../backup-set/manifest';
import { check, type CheckResult } from '../checks/check';

/** What a restore test (or a restore) of a database set found, the same for every engine. */
export interface RestoreReport {
	backupId: string | null;
	manifest?: Manifest;
	passed: boolean;
	/** The restore's time (0 when the set failed verification and nothing was restored). */
	restoreMs: number;
	/** The checks' time after the restore. */
	checksMs: number;
	/** Size of the restored database (PostgreSQL's pg_database_size; 0 where it is not read). */
	restoredBytes: number;
	/** The database restored into (null when nothing was restored). */
	database: string | null;
	/** True when the database was left in place after a failure ("keep on failure"). */
	kept: boolean;
	checks: CheckResult[];
	/**
	 * Restore Test: whether the restore server is the set's own source server, when core could
	 * tell (PostgreSQL: the same cluster by system_identifier, or a shared address and port).
	 */
	onSourceServer?: boolean;
}

/** A real restore's report: also whether an existing target was replaced. */
export interface RealRestoreReport extends RestoreReport {
	replaced: boolean;
	/** Files: where the replaced tree was moved, beside the target (never deleted). */
	oldTree?: string | null;
}

/** The report of a set that failed verification: its checks, and the restore not attempted. */
export function notRestored(manifest: Manifest | undefined, checks: CheckResult[]): RestoreReport {
	const skipped = check(
		'restore',
		false,
		'restored',
		'not attempted',
		'The set failed verification, so it was not restored: a damaged artifact cannot give a trustworthy database',
	);
	return {
		backupId: manifest?.backupId ?? null,
		manifest,
		passed: false,
		restoreMs: 0,
		checksMs: 0,
		restoredBytes: 0,
		database: null,
		kept: false,
		checks: [...checks, skipped],
	};
}
