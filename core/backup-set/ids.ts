import { BackupError } from '../errors';

/** Declared here, where ids are made and recognised; manifest.ts re-exports them. */
export type Component = 'database' | 'files';
export type BackupType = 'full' | 'differential' | 'incremental' | 'log';

/** A safe folder name: no separator, no '..', no control character, no leading dot or dash. */
export const ENVIRONMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
/** What follows `<environment>-` in a restore point id (core/restore-point.ts: `-<time>-rp-<hex>`). */
const RESTORE_POINT_ID_TAIL = /^\d{8}T\d{6}Z-rp-[0-9a-f]{1,32}$/;
/** What follows `<environment>-` in a backupId (see makeBackupId). */
const BACKUP_ID_TAIL = /^\d{8}T\d{6}Z-(full|differential|incremental|log)-(db|files)(-\d{1,3})?$/;

export function checkEnvironmentName(environment: string): string {
	const name = environment.trim();
	if (!ENVIRONMENT.test(name))
		throw new BackupError(
			'INVALID_INPUT',
			`Environment name "${environment}" cannot be used in folder names`,
			'Use letters, digits, "-", "_" or "." (for example "prod" or "P12-homolog"), up to 63 characters.',
		);
	return name;
}

/** 2026-11-26T02:00:00.123Z -> 20261126T020000Z: sortable, and readable in a folder listing. */
export function compactUtc(at: Date): string {
	return at
		.toISOString()
		.replace(/[-:]/g, '')
		.replace(/\.\d+Z$/, 'Z');
}

/**
 * backupIds sort by time within an environment and say what they hold:
 * prod-20261126T020000Z-full-db. `attempt` > 1 disambiguates two sets made in the same second.
 */
export function makeBackupId(
	environment: string,
	type: BackupType,
	component: Component,
	at: Date,
	attempt = 1,
): string {
	const kind = component === 'database' ? 'db' : 'files';
	const suffix = attempt > 1 ? `-${attempt}` : '';
	return `${environment}-${compactUtc(at)}-${type}-${kind}${suffix}`;
}

/**
 * Whether `id` is a backupId of `environment` as makeBackupId writes it. This is what proves a
 * folder name is ours (with the in-progress marker) and keeps ids safe to join into paths.
 */
export function isBackupIdOf(environment: string, id: string): boolean {
	return (
		ENVIRONMENT.test(environment) &&
		id.startsWith(`${environment}-`) &&
		BACKUP_ID_TAIL.test(id.slice(environment.length + 1))
	);
}

/** Whether `id` is a restore point id of `environment`. */
export function isRestorePointIdOf(environment: string, id: string): boolean {
	return (
		ENVIRONMENT.test(environment) &&
		id.startsWith(`${environment}-`) &&
		RESTORE_POINT_ID_TAIL.test(id.slice(environment.length + 1))
	);
}
