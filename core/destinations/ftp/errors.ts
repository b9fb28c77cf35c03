/**
 * What an FTP failure means for the user: a login's (credentials, certificate, network) and a
 * file operation's (full disk, permission, lost connection), each a BackupError naming the
 * place and what to do. The password never appears in a message.
 */
import { FTPError } from 'basic-ftp';
import { BackupError } from '../../errors';
import type { FtpContext } from './context';
import { probeCertificate } from './tls';

export async function connectError(context: FtpContext, error: unknown): Promise<BackupError> {
	if (error instanceof BackupError) return error;
	const { config, port } = context;
	const message = (error as Error).message ?? String(error);
	const code = (error as { code?: unknown }).code;
	if (error instanceof FTPError && error.code === 530) {
		return new BackupError(
			'AUTH_FAILED',
			`Login as "${config.username}" refused by ${context.describe()}`,
			'Check the username and password in the FTP credential.',
			{ cause: error },
		);
	}
	if (typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS|HOSTNAME/.test(code)) {
		const seen = await probeCertificate(context).then(
			(peer) => peer.fingerprint256,
			() => undefined,
		);
		return new BackupError(
			'TLS_CERTIFICATE',
			`The TLS certificate of ${config.host}:${port} was not accepted (${code}: ${message})${seen ? `; its SHA-256 fingerprint is ${seen}` : ''}`,
			'If the server uses a self-signed or private-CA certificate, add that CA (PEM) or pin the certificate fingerprint in the credential, after confirming it with the server administrator.',
			{ cause: error },
		);
	}
	if (/timeout/i.test(message)) {
		return new BackupError(
			'TIMEOUT',
			`Timed out talking to ${context.describe()}: ${message}`,
			"Check host, port and firewall (passive mode needs the server's passive port range open too).",
			{ cause: error },
		);
	}
	if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ECONNRESET') {
		return new BackupError(
			'UNREACHABLE',
			`Cannot reach ${context.describe()}: ${message}`,
			'Check the host, port and TLS mode (implicit FTPS usually listens on 990, FTP and explicit FTPS on 21).',
			{ cause: error },
		);
	}
	return new BackupError(
		'UNREACHABLE',
		`Cannot use ${context.describe()}: ${message}`,
		'Check the host, port, TLS mode and credentials.',
		{ cause: error },
	);
}

/** `connectionLost`: the client is closed (or never opened) when the error is judged. */
export function fileError(
	context: FtpContext,
	error: unknown,
	action: string,
	rel: string,
	connectionLost: boolean,
): BackupError {
	if (error instanceof BackupError) return error;
	const where = `${context.describe()}/${rel}`;
	if (error instanceof FTPError) {
		if (error.code === 452 || error.code === 552 || /No space|quota|Failure writing/i.test(error.message)) {
			return diskFull(context, rel, error, `: ${error.message}`);
		}
		if (error.code === 550 || error.code === 553) {
			return new BackupError(
				'PERMISSION_DENIED',
				`The FTP server refused to ${action} ${where}: ${error.message}`,
				'Check that the folder exists and the FTP user may write there (write_enable on vsftpd).',
				{ cause: error },
			);
		}
	}
	if (connectionLost || /timeout|closed|ECONNRESET|EPIPE/i.test((error as Error).message)) {
		return new BackupError(
			'TRANSFER_FAILED',
			`Connection to ${context.describe()} failed while trying to ${action} ${where}: ${(error as Error).message}`,
			'Run again: the upload resumes or restarts, and nothing incomplete is left under the final name.',
			{ cause: error },
		);
	}
	return new BackupError(
		'TRANSFER_FAILED',
		`Could not ${action} ${where}: ${(error as Error).message}`,
		'Check the path and the server, then run again.',
		{ cause: error },
	);
}

export function diskFull(context: FtpContext, rel: string, cause: unknown, detail = ''): BackupError {
	return new BackupError(
		'DISK_FULL',
		`The FTP server's disk is full: could not store ${context.describe()}/${rel}${detail}`,
		"Free space on the server (run Prune) or raise the user's quota.",
		{ cause },
	);
}
