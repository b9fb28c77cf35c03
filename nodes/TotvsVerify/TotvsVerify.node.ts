import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';
import { verifyLocalSet } from '../../core/verify/verify-set';
import { ItemFailure, forEachBackupItem } from '../shared/run-items';
import { languageOption, verifySummary, type Language } from '../shared/summary';

export class TotvsVerify implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'TOTVS Verify',
		name: 'totvsVerify',
		icon: 'file:totvsVerify.svg',
		group: ['transform'],
		version: 1,
		subtitle: 'Local backup set',
		description: 'Prove a TOTVS backup set is intact: sizes and SHA-256 of every artifact, and the dump readable with data for every table',
		defaults: { name: 'TOTVS Verify' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		usableAsTool: true,
		properties: [
			{
				displayName: 'Backup Set Folder',
				name: 'setFolder',
				type: 'string',
				default: '={{ $json.location }}',
				required: true,
				description: 'Folder of the backup set, the one holding its manifest file. The default takes it from the TOTVS Dump item.',
			},
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
						description: 'Folder with pg_restore. Leave empty to use the newest found on PATH or in /usr/lib/postgresql/*/bin.',
					},
					languageOption,
				],
			},
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const language = (i: number) => this.getNodeParameter('options.language', i, 'en') as Language;
		return forEachBackupItem(this, 'TOTVS Verify', language, async (item, i) => {
			const folder = String(this.getNodeParameter('setFolder', i, '') ?? '').trim();
			if (!folder)
				throw new NodeOperationError(this.getNode(), 'No backup set folder to verify', {
					itemIndex: i,
					description: 'Connect TOTVS Dump before this node, or set "Backup Set Folder" to the folder that holds manifest.json.',
				});
			const pgClientFolder = this.getNodeParameter('options.pgClientFolder', i, '') as string;
			const { manifest, verification } = await verifyLocalSet(folder, { pgClientFolder });
			const backupId = manifest?.backupId ?? String(item.json.backupId ?? folder);
			const summary = verifySummary(backupId, verification.checks, language(i));
			this.logger.info(summary);
			if (!verification.ok) {
				const failed = verification.checks.filter((c) => !c.ok);
				return new ItemFailure(
					`Backup set ${backupId} failed verification: ${failed.map((c) => `${c.name}: ${c.message}`).join('; ')}`,
					'Do not rely on this set. Make a new backup; keep this one for investigation (disk, network copy or storage errors damage files).',
					{ verification: { ...verification }, summary },
				);
			}
			return { verification: { ...verification }, status: 'ok', summary };
		});
	}
}
