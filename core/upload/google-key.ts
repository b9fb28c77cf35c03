import { BackupError } from '../errors';

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
