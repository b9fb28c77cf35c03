import { BackupError } from '../errors';

/** The error of a restore stopped by n8n's cancel signal, once the partly restored database is gone. */
export const cancelled = (database: string) =>
	new BackupError(
		'CANCELLED',
		`The restore into "${database}" was cancelled`,
		'Nothing was kept: the partly restored database was dropped.',
	);
