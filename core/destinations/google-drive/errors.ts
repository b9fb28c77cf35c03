/**
 * Drive's answers that are not a success: which are worth a retry (429, 5xx, rate limits,
 * network failures), and what the others mean for the user (a full Drive, the daily upload cap,
 * a folder not shared with the account).
 */
import { BackupError } from '../../errors';
import type { GoogleDriveConfig } from '../destination';

/** An HTTP answer from Drive that is not a success, with Google's error reason. */
export class DriveHttpError extends Error {
	constructor(
		readonly status: number,
		readonly reason: string | undefined,
		message: string,
	) {
		super(message);
		this.name = 'DriveHttpError';
	}
}

/** Reads Google's error body: { error: { code, message, errors: [{ reason }] } }. */
export function driveErrorFrom(status: number, body: unknown): DriveHttpError {
	const error = (
		body as { error?: { message?: string; errors?: Array<{ reason?: string }>; status?: string } } | undefined
	)?.error;
	const reason = error?.errors?.[0]?.reason ?? error?.status;
	return new DriveHttpError(status, reason, error?.message ?? `HTTP ${status}`);
}

/** Errors worth retrying with backoff: 429, 5xx, rate limits, and network failures. */
export function isTransient(error: unknown): boolean {
	if (error instanceof BackupError) return false;
	if (error instanceof DriveHttpError) {
		return (
			error.status === 429 ||
			error.status >= 500 ||
			(error.status === 403 && (error.reason === 'rateLimitExceeded' || error.reason === 'userRateLimitExceeded'))
		);
	}
	return true; // fetch failures: reset, refused, timeout
}

/** Converts a googleapis (gaxios) error to DriveHttpError so one classification serves all calls. */
export function fromGaxios(error: unknown): unknown {
	const response = (error as { response?: { status?: number; data?: unknown } }).response;
	if (response?.status) return driveErrorFrom(response.status, response.data);
	return error;
}

export function toBackupError(config: GoogleDriveConfig, error: unknown, action: string, where: string): BackupError {
	if (error instanceof BackupError) return error;
	if (error instanceof DriveHttpError) {
		if (
			error.reason === 'storageQuotaExceeded' ||
			error.reason === 'quotaExceeded' ||
			error.reason === 'teamDriveFileLimitExceeded' ||
			error.reason === 'numChildrenInNonRootLimitExceeded'
		) {
			return new BackupError(
				'QUOTA_EXCEEDED',
				`Google Drive is full: cannot ${action} ${where} (${error.reason}: ${error.message})`,
				'Free space in the Drive / shared drive (run Prune, empty the trash) or buy more storage. Service accounts have no storage of their own: use a shared drive.',
				{ cause: error },
			);
		}
		if (
			error.reason === 'uploadLimitExceeded' ||
			error.reason === 'dailyLimitExceeded' ||
			(error.status === 403 && error.reason === 'userRateLimitExceeded')
		) {
			return new BackupError(
				'QUOTA_EXCEEDED',
				`Google Drive refused to ${action} ${where}: upload limit reached (${error.reason}: ${error.message})`,
				'Google allows 750 GB of uploads per user per day; wait until the limit resets (24 h) or spread uploads over days / accounts. Retries with backoff were already made.',
				{ cause: error },
			);
		}
		if (error.status === 401)
			return new BackupError(
				'AUTH_FAILED',
				`Google rejected the access token for ${where}`,
				'Check the Google Drive credential.',
				{ cause: error },
			);
		if (error.status === 403 || error.status === 404) {
			return new BackupError(
				'PERMISSION_DENIED',
				`Google Drive refused to ${action} ${where} (${error.status} ${error.reason ?? ''}: ${error.message})`,
				config.auth.kind === 'serviceAccount'
					? 'Share the folder (or shared drive) with the service account e-mail as Content manager / Editor, and check the folder id.'
					: 'Check the folder id, and that the Google account the credential signed in with can edit that folder (owner, Editor, or Content manager on a shared drive).',
				{ cause: error },
			);
		}
	}
	return new BackupError(
		'TRANSFER_FAILED',
		`Could not ${action} ${where}: ${(error as Error).message}`,
		'Google Drive or the network failed repeatedly; run again (uploads resume).',
		{ cause: error },
	);
}
