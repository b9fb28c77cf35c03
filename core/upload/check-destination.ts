import { randomBytes } from 'node:crypto';
import type { DestinationConfig } from '../destinations/destination';
import { BackupError } from '../errors';
import { openDestination } from './open-destination';

export interface DestinationCheck {
	where: string;
	entries: number;
	folders: number;
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
		};
	} finally {
		await destination.close().catch(() => undefined);
	}
}
