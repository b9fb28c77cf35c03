/**
 * The registry: turns a configuration into a Destination, tests one (the credential test), and
 * reads the pieces of a Google key file the configuration needs. The only module that knows
 * every backend.
 */
import { randomBytes } from 'node:crypto';
import { BackupError } from '../errors';
import type { Destination, DestinationConfig } from './destination';
import { FtpDestination } from './ftp/ftp';
import { GoogleDriveDestination } from './google-drive/google-drive';
import { LocalFolderDestination } from './local/local-folder';
import { hostKeyNotes } from './sftp/fingerprint';
import { SftpDestination } from './sftp/sftp';

/** The Destination for a configuration; nothing connects until the first call. */
export function openDestination(config: DestinationConfig): Destination {
	switch (config.type) {
		case 'local':
			return new LocalFolderDestination(config);
		case 'sftp':
			return new SftpDestination(config);
		case 'ftp':
			return new FtpDestination(config);
		case 'google-drive':
			return new GoogleDriveDestination(config);
	}
}

export interface DestinationCheck {
	where: string;
	entries: number;
	folders: number;
	/** What the user should know though the test passed (an MD5 host key pin: SHA256 is preferred). */
	notes: string[];
}

/**
 * Connects, lists the root folder, and writes and deletes a small file there: read-only access
 * is the commonest surprise on the first backup night, so a credential test should catch it.
 */
export async function checkDestination(config: DestinationConfig): Promise<DestinationCheck> {
	const destination = openDestination(config);
	try {
		const entries = await destination.list('');
		const probe = `.totvs-credential-test-${randomBytes(6).toString('hex')}`;
		if (!(await destination.createExclusive(probe, 'n8n-nodes-totvs-backup credential test\n')))
			throw new BackupError(
				'PERMISSION_DENIED',
				`Connected to ${destination.describe()}, but could not create a test file there`,
				'Check that the user may write to that folder.',
			);
		await destination.remove(probe);
		return {
			where: destination.describe(),
			entries: entries.length,
			folders: entries.filter((e) => e.isFolder).length,
			notes: config.type === 'sftp' ? hostKeyNotes(config.hostKeySha256) : [],
		};
	} finally {
		await destination.close().catch(() => undefined);
	}
}

/** client_email and private_key from a service account's JSON key file; never echoes the text (it holds the key). */
export function parseServiceAccountKey(json: string): { clientEmail: string; privateKey: string } {
	let key: { client_email?: unknown; private_key?: unknown };
	try {
		key = JSON.parse(json);
	} catch {
		throw new BackupError(
			'INVALID_INPUT',
			'The service account key is not valid JSON',
			'Paste the whole JSON key file downloaded from Google Cloud (IAM → Service Accounts → Keys → Add key → JSON).',
		);
	}
	if (typeof key?.client_email !== 'string' || typeof key.private_key !== 'string')
		throw new BackupError(
			'INVALID_INPUT',
			'The service account key has no client_email or private_key',
			'Paste the whole JSON key file of a service account (its "type" is "service_account"), not an OAuth client file.',
		);
	return { clientEmail: key.client_email, privateKey: key.private_key };
}
