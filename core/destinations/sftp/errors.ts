/**
 * What an SFTP failure means for the user: the login's (host key, credentials, network), a
 * file operation's (permission, full disk, lost connection) and the OpenSSH client's, each a
 * BackupError with the place and what to do. No secret is ever part of a message.
 */
import { BackupError } from '../../errors';
import { parentOf } from '../destination';
import type { SftpContext } from './context';
import { OpensshFailure } from './sftp-openssh';
import { abortError } from '../verification';

export const NO_SUCH_FILE = 2;
export const PERMISSION = 3;
export const FAILURE = 4;

/** The SFTP status code of an error (2 no such file, 3 permission, 4 failure). */
export function statusCode(error: unknown): number | undefined {
	return (error as { code?: number } | null)?.code;
}

/** What a file error needs to know about the session it happened on. */
interface SessionState {
	closed: boolean;
	abs(remotePath: string, allowRoot?: boolean): string;
	freeBytes(absFolder: string): Promise<number>;
}

function fullDisk(action: string, where: string, free: number, error: unknown, said = ''): BackupError {
	return new BackupError(
		'DISK_FULL',
		`The server's disk is full: could not ${action} ${where} (${free} bytes free)${said}`,
		"Free space on the SFTP server (run Prune) or raise the user's quota.",
		{ cause: error },
	);
}

/** Why a login failed; `seenKey` is the host key the server showed, if it got that far. */
export function loginError(
	context: SftpContext,
	error: Error & { level?: string; code?: string },
	seenKey?: Buffer,
): BackupError {
	const { config } = context;
	if (seenKey && !context.pin.matches(seenKey)) {
		return new BackupError(
			'HOST_KEY_MISMATCH',
			`Host key of ${config.host}:${config.port ?? 22} is ${context.pin.describeKey(seenKey)}, but ${context.pin.text} is pinned; connection refused`,
			'If the server was reinstalled or its key rotated, check the new key with the server administrator (ssh-keygen -lf on the server) and update the pinned fingerprint. Otherwise someone may be intercepting the connection.',
			{ cause: error },
		);
	}
	if (error.level === 'client-authentication') {
		return new BackupError(
			'AUTH_FAILED',
			`Login as "${config.username}" refused by ${context.describe()}`,
			"Check the username and password or private key (and passphrase), and that the key is in the user's authorized_keys.",
			{ cause: error },
		);
	}
	if (/passphrase|private key|Cannot parse/i.test(error.message)) {
		return new BackupError(
			'AUTH_FAILED',
			`Cannot use the private key for ${context.describe()}: ${error.message}`,
			'Check the key text and its passphrase.',
			{ cause: error },
		);
	}
	if (error.level === 'client-timeout' || /timed out/i.test(error.message)) {
		return new BackupError(
			'TIMEOUT',
			`Timed out connecting to ${context.describe()}`,
			'Check that the host and port are right and that a firewall lets this machine through.',
			{ cause: error },
		);
	}
	return new BackupError(
		'UNREACHABLE',
		`Cannot reach ${context.describe()}: ${error.message}`,
		'Check the host, port and network path to the SSH server.',
		{ cause: error },
	);
}

/** Turns an SFTP status error into a BackupError; asks statvfs whether the disk is full. */
export async function fileError(
	context: SftpContext,
	session: SessionState,
	error: unknown,
	action: string,
	remotePath: string,
): Promise<BackupError> {
	if (error instanceof BackupError) return error;
	const where = `${context.describe()}/${remotePath}`;
	if (session.closed) {
		return new BackupError(
			'TRANSFER_FAILED',
			`Connection to ${context.describe()} was lost while trying to ${action} ${where}`,
			'Run again: the upload resumes or restarts, and nothing incomplete is left under the final name.',
			{ cause: error },
		);
	}
	if (statusCode(error) === PERMISSION) {
		return new BackupError(
			'PERMISSION_DENIED',
			`Not allowed to ${action} ${where}`,
			'Give the SFTP user write access to the destination folder.',
			{ cause: error },
		);
	}
	const free = await session.freeBytes(session.abs(parentOf(remotePath), true)).catch(() => undefined);
	if (free !== undefined && free < 1 << 20) return fullDisk(action, where, free, error);
	return new BackupError(
		'TRANSFER_FAILED',
		`Could not ${action} ${where}: ${(error as Error).message}`,
		'Check the path and the server, then run again.',
		{ cause: error },
	);
}

/** The same BackupError codes as the ssh2 path, with what sftp printed (secrets scrubbed). */
export async function opensshError(
	context: SftpContext,
	session: SessionState,
	error: OpensshFailure,
	partial: string,
): Promise<BackupError> {
	const { config } = context;
	const said = error.stderr ? ` (sftp: ${error.stderr})` : '';
	const where = `sftp://${config.username}@${config.host}:${config.port ?? 22}${partial}`;
	switch (error.kind) {
		case 'host-key':
			return new BackupError(
				'HOST_KEY_MISMATCH',
				`The OpenSSH client was shown a host key for ${config.host}:${config.port ?? 22} other than the pinned ${context.pin.text}; connection refused, nothing uploaded${said}`,
				'Someone may be intercepting the connection, or the server has several addresses with different keys. Check with the server administrator before trusting another key.',
				{ cause: error },
			);
		case 'auth':
			return new BackupError(
				'AUTH_FAILED',
				`Login as "${config.username}" by the OpenSSH client refused by ${context.describe()}${said}`,
				'Check the password or private key and passphrase; if only the OpenSSH client fails, set the SFTP transport to ssh2.',
				{ cause: error },
			);
		case 'unreachable':
			return new BackupError(
				'UNREACHABLE',
				`The OpenSSH client cannot reach ${context.describe()}${said}`,
				'Check the host, port and network path to the SSH server.',
				{ cause: error },
			);
		case 'timeout':
			return new BackupError(
				'TIMEOUT',
				`The OpenSSH client timed out connecting to ${context.describe()}${said}`,
				'Check that the host and port are right and that a firewall lets this machine through.',
				{ cause: error },
			);
		case 'stalled':
			return new BackupError(
				'TIMEOUT',
				`No progress for ${Math.round(context.timeoutMs / 1000)} s uploading to ${where}; the transfer was stopped${said}`,
				'The server or network stalled; run again (the upload resumes).',
				{ cause: error },
			);
		case 'cancelled':
			return abortError(partial);
		case 'permission':
			return new BackupError(
				'PERMISSION_DENIED',
				`Not allowed to write ${where}${said}`,
				'Give the SFTP user write access to the destination folder.',
				{ cause: error },
			);
		case 'disk-full':
			return new BackupError(
				'DISK_FULL',
				`The server's disk is full: could not write ${where}${said}`,
				"Free space on the SFTP server (run Prune) or raise the user's quota.",
				{ cause: error },
			);
		default: {
			// sftp reports ENOSPC as a plain "Failure": ask statvfs (over ssh2) whether the disk is full.
			const free = session.closed
				? undefined
				: await session.freeBytes(partial.slice(0, partial.lastIndexOf('/')) || '/').catch(() => undefined);
			if (free !== undefined && free < 1 << 20) return fullDisk('write', where, free, error, said);
			return new BackupError(
				'TRANSFER_FAILED',
				`Upload to ${where} failed${said}`,
				'Run again: the upload resumes or restarts, and nothing incomplete is left under the final name.',
				{ cause: error },
			);
		}
	}
}
