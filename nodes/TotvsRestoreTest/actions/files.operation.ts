import type { INodeProperties } from 'n8n-workflow';
import { execute, failed } from './restore-test.operation';

/**
 * Restore Test of a Protheus files set: the same run as the database test (the set chosen from
 * the item, a backups folder or a destination, its chain downloaded and verified), restored into
 * a scratch folder on this machine and checked against its index and appserver.ini.
 */
export const description: INodeProperties[] = [
	{
		displayName:
			'The chain (full → differential → incrementals up to the chosen set) is extracted into a private scratch folder on the n8n machine and checked: every file of the index with its size, SHA-256 and mode (owners when n8n runs as root), deletions applied, nothing extra, and each appserver.ini\'s RootPath, SourcePath (with an RPO), RpoCustom and RpoTlpp present and not empty. The scratch folder is removed afterwards (also on failure and cancel) unless "Keep Database on Failure" is on. No credential is needed for this operation.',
		name: 'restoreTestFilesNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { operation: ['files'] } },
	},
];

export { execute, failed };
