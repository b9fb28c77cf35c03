import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';
import { verifyLocalSet } from '../../core/verify';
import { ItemFailure, forEachBackupItem } from '../shared/run-items';
import { SQLSERVER_CREDENTIAL_TEST, testSqlServerCredential } from '../shared/sqlserver-credential';
import { languageOption, verifySummary, type Language } from '../shared/summary';
import { sharedFolderProperties, sqlServerBackupFile, sqlServerVerifyAccess } from '../shared/sqlserver-access';

const withSqlServer = { show: { checkWithSqlServer: [true] } };

export class TotvsVerify implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'TOTVS Verify',
		name: 'totvsVerify',
		icon: 'file:totvsVerify.svg',
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
		],
		properties: [
			{
				displayName: 'Backup Set Folder',
				name: 'setFolder',
				type: 'string',
				default: '={{ $json.location }}',
				required: true,
				description:
					'Folder of the backup set, the one holding its manifest file. The default takes it from the TOTVS Dump item.',
			},
			{
				displayName: 'Check With SQL Server (VERIFYONLY)',
				name: 'checkWithSqlServer',
				type: 'boolean',
				default: false,
				description:
					'Whether SQL Server sets are also read by a SQL Server: RESTORE HEADERONLY must match the manifest and RESTORE VERIFYONLY WITH CHECKSUM must pass. Without it that check is reported as not run; sizes, SHA-256 and the log chain are checked either way. Ignored for PostgreSQL and file sets.',
			},
			...sharedFolderProperties(withSqlServer),
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'PostgreSQL Client Folder',
						name: 'pgClientFolder',
						type: 'string',
						default: '',
						placeholder: '/usr/lib/postgresql/16/bin',
						description:
							'Folder with pg_restore. Leave empty to use the newest found on PATH or in /usr/lib/postgresql/*/bin.',
					},
					languageOption,
				],
			},
		],
	};

	methods = { credentialTest: { [SQLSERVER_CREDENTIAL_TEST]: testSqlServerCredential } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const language = (i: number) => this.getNodeParameter('options.language', i, 'en') as Language;
		return forEachBackupItem(this, 'TOTVS Verify', language, async (item, i) => {
			const folder = String(this.getNodeParameter('setFolder', i, '') ?? '').trim();
			if (!folder)
				throw new NodeOperationError(this.getNode(), 'No backup set folder to verify', {
					itemIndex: i,
					description:
						'Connect TOTVS Dump before this node, or set "Backup Set Folder" to the folder that holds manifest.json.',
				});
			const pgClientFolder = this.getNodeParameter('options.pgClientFolder', i, '') as string;
			const sqlServer = await sqlServerVerifyAccess(this, i, folder);
			const { manifest, verification } = await verifyLocalSet(folder, { pgClientFolder, sqlServer });
			const backupId = manifest?.backupId ?? String(item.json.backupId ?? folder);
			const summary = verifySummary(backupId, verification.checks, language(i));
			this.logger.info(summary);
			for (const skipped of verification.checks.filter((c) => c.notRun))
				this.logger.warn(`${backupId}: ${skipped.name} not run: ${skipped.message}`);
			if (!verification.ok) {
				const failed = verification.checks.filter((c) => !c.ok && !c.notRun);
				const file = manifest && sqlServer ? sqlServerBackupFile(folder, manifest, sqlServer.shared) : undefined;
				const about = (name: string) => (name === 'verifyonly' && file ? ` of ${file}` : '');
				return new ItemFailure(
					`Backup set ${backupId} failed verification: ${failed.map((c) => `${c.name}${about(c.name)}: ${c.message}`).join('; ')}`,
					'Do not rely on this set. Make a new backup; keep this one for investigation (disk, network copy or storage errors damage files).',
					{ verification: { ...verification }, summary },
				);
			}
			return { verification: { ...verification }, status: 'ok', summary };
		});
	}
}
