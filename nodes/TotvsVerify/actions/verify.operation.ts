import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { verifyLocalSet } from '../../../core/verify';
import { useBackupKeysProperties } from '../../shared/backup-keys';
import {
	DAMAGED_SET_HINT,
	noSetFolderHint,
	PG_CLIENT_FOLDER_PLACEHOLDER,
	setFolderDescription,
} from '../../shared/hints';
import { ItemFailure, summaryLanguage } from '../../shared/run-items';
import { sharedFolderProperties, sqlServerBackupFile, sqlServerVerifyAccess } from '../../shared/sqlserver-access';
import { languageOption, verifySummary } from '../../shared/summary';

/** Where the SQL Server parameters and credential show. */
export const withSqlServer = { show: { checkWithSqlServer: [true] } };

export const description: INodeProperties[] = [
	{
		displayName: 'Backup Set Folder',
		name: 'setFolder',
		type: 'string',
		default: '={{ $json.location }}',
		required: true,
		description: setFolderDescription('TOTVS Dump'),
	},
	{
		// Short: a longer label was cut off in the panel. Shown for every set (the engine is known only at run time).
		displayName: 'Check With SQL Server',
		name: 'checkWithSqlServer',
		type: 'boolean',
		default: false,
		description:
			'Whether a SQL Server also reads the set (SQL Server sets only; ignored for PostgreSQL and file sets): RESTORE HEADERONLY must match the manifest and RESTORE VERIFYONLY WITH CHECKSUM must pass. Without it that check is reported as not run; sizes, SHA-256 and the log chain are checked either way.',
	},
	...sharedFolderProperties(withSqlServer),
	...useBackupKeysProperties(),
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
				placeholder: PG_CLIENT_FOLDER_PLACEHOLDER,
				description:
					'Folder with pg_restore. Leave empty to use the newest found on PATH or in /usr/lib/postgresql/*/bin.',
			},
			languageOption,
		],
	},
];

/** Checks the set of item i against its manifest: sizes, SHA-256, structure, chain (and VERIFYONLY when asked). */
export async function execute(
	this: IExecuteFunctions,
	i: number,
	item: INodeExecutionData,
): Promise<IDataObject | ItemFailure> {
	const folder = String(this.getNodeParameter('setFolder', i, '') ?? '').trim();
	if (!folder)
		throw new NodeOperationError(this.getNode(), 'No backup set folder to verify', {
			itemIndex: i,
			description: noSetFolderHint('TOTVS Dump'),
		});
	const pgClientFolder = this.getNodeParameter('options.pgClientFolder', i, '') as string;
	const sqlServer = await sqlServerVerifyAccess(this, i, folder);
	const { manifest, verification } = await verifyLocalSet(folder, { pgClientFolder, sqlServer });
	const backupId = manifest?.backupId ?? String(item.json.backupId ?? folder);
	const summary = verifySummary(backupId, verification.checks, summaryLanguage(this)(i));
	this.logger.info(summary);
	for (const skipped of verification.checks.filter((c) => c.notRun))
		this.logger.warn(`${backupId}: ${skipped.name} not run: ${skipped.message}`);
	if (!verification.ok) {
		const failed = verification.checks.filter((c) => !c.ok && !c.notRun);
		const file = manifest && sqlServer ? sqlServerBackupFile(folder, manifest, sqlServer.shared) : undefined;
		const about = (name: string) => (name === 'verifyonly' && file ? ` of ${file}` : '');
		return new ItemFailure(
			`Backup set ${backupId} failed verification: ${failed.map((c) => `${c.name}${about(c.name)}: ${c.message}`).join('; ')}`,
			DAMAGED_SET_HINT,
			{ verification: { ...verification }, summary },
		);
	}
	return { verification: { ...verification }, status: 'ok', summary };
}

/** Verification did not run to the end (no folder, no SQL Server): not ok, no checks. */
export function failed(): IDataObject {
	return { verification: { ok: false, checkedAt: new Date().toISOString(), checks: [] } };
}
