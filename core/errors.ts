/**
 * Errors raised by core/. Every error says what failed (`message`) and what the user can do
 * about it (`hint`), so nodes can show both without knowing the domain.
 */
export type BackupErrorCode =
	| 'AUTH_FAILED'
	| 'UNREACHABLE'
	| 'DATABASE_NOT_FOUND'
	| 'PERMISSION_DENIED'
	| 'CLIENT_NOT_FOUND'
	| 'CLIENT_TOO_OLD'
	| 'UNSUPPORTED_OPTION'
	| 'STAGING_FOLDER'
	| 'DISK_FULL'
	| 'DUMP_FAILED'
	| 'MANIFEST_INVALID'
	| 'SET_NOT_FOUND'
	| 'VERIFY_FAILED'
	| 'INVALID_INPUT'
	// SQL Server (core/sources/sqlserver)
	| 'BACKUP_CHAIN_BROKEN'
	| 'RESTORE_FAILED'
	// destinations (core/destinations)
	| 'HOST_KEY_MISMATCH'
	| 'TLS_CERTIFICATE'
	| 'QUOTA_EXCEEDED'
	| 'TRANSFER_FAILED'
	| 'TIMEOUT'
	// per-environment lock on a destination (core/locking)
	| 'LOCKED'
	| 'LOCK_LOST'
	// restore and restore test (core/restore-test)
	| 'TARGET_EXISTS'
	| 'TARGET_IS_SOURCE'
	| 'CANCELLED'
	// Protheus file sets (core/sources/protheus-files)
	| 'UNSAFE_ARCHIVE';

export class BackupError extends Error {
	constructor(
		readonly code: BackupErrorCode,
		message: string,
		readonly hint: string,
		options?: { cause?: unknown },
	) {
		super(message, options);
		this.name = 'BackupError';
	}
}

export function isBackupError(error: unknown): error is BackupError {
	return error instanceof BackupError;
}

/** Node's system errors carry a string `code` such as ENOSPC or EACCES. */
export function systemErrorCode(error: unknown): string | undefined {
	const code = (error as { code?: unknown } | null)?.code;
	return typeof code === 'string' ? code : undefined;
}
