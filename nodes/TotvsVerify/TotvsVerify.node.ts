import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';
import { BACKUP_KEYS_TEST, testBackupKeysCredential } from '../shared/backup-keys';
import { SQLSERVER_CREDENTIAL_TEST, testSqlServerCredential } from '../shared/sqlserver-credential';
import { operations, router } from './actions/router';
import { withSqlServer } from './actions/verify.operation';

export class TotvsVerify implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'TOTVS Verify',
		name: 'totvsVerify',
		icon: { light: 'file:totvsVerify.svg', dark: 'file:totvsVerify.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: 'Local backup set',
		description:
			'Prove a TOTVS backup set is intact: sizes and SHA-256 of every artifact, the dump readable (PostgreSQL) or the log chain complete and RESTORE VERIFYONLY passing (SQL Server)',
		defaults: { name: 'TOTVS Verify' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		usableAsTool: true,
		// Literal name/testedBy (not SQLSERVER_CREDENTIAL…): n8n's linter reads them.
		credentials: [
			{
				name: 'totvsSqlServer',
				required: true,
				testedBy: 'totvsSqlServerConnectionTest',
				displayOptions: withSqlServer,
			},
			{
				name: 'totvsBackupKeys',
				required: true,
				testedBy: 'totvsBackupKeysTest',
				displayOptions: { show: { useBackupKeys: [true] } },
			},
		],
		properties: operations.verify.description,
	};

	methods = {
		credentialTest: {
			[SQLSERVER_CREDENTIAL_TEST]: testSqlServerCredential,
			[BACKUP_KEYS_TEST]: testBackupKeysCredential,
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return router.call(this);
	}
}
