import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { makeBackup } from '../../../core/backup';
import { manifestOf } from '../../../core/backup-set/manifest';
import { formatBytes, formatDuration } from '../../../core/format';
import {
	defaultSqlServerDumpOptions,
	SqlServerSource,
	type SqlServerDumpOptions,
} from '../../../core/sources/sqlserver';
import { backupItem, type BackupItemJson } from '../../shared/backup-item';
import { SQLSERVER_FOLDER_PLACEHOLDER, SQLSERVER_MOUNT_PLACEHOLDER } from '../../shared/hints';
import { summaryLanguage } from '../../shared/run-items';
import { languageOption, type Language } from '../../shared/summary';
import { failedDatabaseDump, type DumpRun } from './run';

const show = { show: { source: ['sqlserver'] } };

/** TOTVS Dump's parameters for a SQL Server source. */
export const description: INodeProperties[] = [
	{
		displayName: 'Backup Type',
		name: 'sqlServerBackupType',
		type: 'options',
		displayOptions: show,
		options: [
			{ name: 'Full', value: 'full', description: 'BACKUP DATABASE: the whole database' },
			{
				name: 'Differential',
				value: 'differential',
				description: 'BACKUP DATABASE WITH DIFFERENTIAL: changes since the last full backup',
			},
			{
				name: 'Log',
				value: 'log',
				description: 'BACKUP LOG: the transaction log since the last log backup (FULL or BULK_LOGGED recovery only)',
			},
		],
		default: 'full',
	},
	{
		displayName: 'Backup Folder (SQL Server Path)',
		name: 'sqlServerFolder',
		type: 'string',
		displayOptions: show,
		default: '',
		required: true,
		placeholder: SQLSERVER_FOLDER_PLACEHOLDER,
		description:
			'SQL Server writes the backup file itself, on its own host: a folder (local to SQL Server or a UNC share) its service account can write',
	},
	{
		displayName: 'Backup Folder (Local Mount Path)',
		name: 'sqlServerLocalFolder',
		type: 'string',
		displayOptions: show,
		default: '',
		required: true,
		placeholder: SQLSERVER_MOUNT_PLACEHOLDER,
		description:
			'The same folder mounted on the n8n host (SMB/CIFS or NFS). n8n hashes the file from here. With the Staging Folder in this folder (or inside it), the file is renamed into the backup set; otherwise it is copied. Verify and Restore Test need the set inside it.',
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		displayOptions: show,
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Compression',
				name: 'compression',
				type: 'options',
				options: [
					{
						name: 'Auto',
						value: 'auto',
						description:
							'WITH COMPRESSION where the edition supports it (Enterprise, Developer, Standard 2008 R2+), otherwise without',
					},
					{
						name: 'On',
						value: 'on',
						description: 'WITH COMPRESSION; fails on editions without backup compression (Express, Web)',
					},
					{ name: 'Off', value: 'off', description: 'WITH NO_COMPRESSION' },
				],
				default: 'auto',
			},
			{
				displayName: 'Copy-Only',
				name: 'copyOnly',
				type: 'boolean',
				default: true,
				description:
					'Whether to make a COPY_ONLY backup, which leaves the differential base and the log chain of other backup tools untouched (full and log only)',
			},
			{
				displayName: 'Progress Step (%)',
				name: 'statsPercent',
				type: 'number',
				default: 10,
				typeOptions: { minValue: 1, maxValue: 100 },
				description: 'WITH STATS = N: SQL Server reports progress every N percent; each report is logged',
			},
			{
				displayName: 'Promote to Full When No Base',
				name: 'promoteToFull',
				type: 'boolean',
				default: true,
				description:
					"Whether a differential or log backup with no full backup to base it on becomes a full backup instead of failing (as Ola Hallengren's ChangeBackupType)",
			},
			languageOption,
		],
	},
];

function readOptions(ctx: IExecuteFunctions, i: number): SqlServerDumpOptions {
	const o = ctx.getNodeParameter('options', i, {}) as IDataObject;
	return {
		serverFolder: String(ctx.getNodeParameter('sqlServerFolder', i, '') ?? ''),
		localFolder: String(ctx.getNodeParameter('sqlServerLocalFolder', i, '') ?? ''),
		compression: (o.compression as SqlServerDumpOptions['compression']) ?? defaultSqlServerDumpOptions.compression,
		copyOnly: o.copyOnly === true,
		promoteToFull: o.promoteToFull === true,
		statsPercent: Number(o.statsPercent ?? defaultSqlServerDumpOptions.statsPercent),
	};
}

function summary(json: ReturnType<typeof backupItem>, edition: string, requested: string, language: Language): string {
	const promoted = requested !== json.type;
	if (language === 'pt-BR')
		return `Backup ${json.type === 'full' ? 'completo' : json.type === 'differential' ? 'diferencial' : 'de log'} ${json.backupId} do banco ${json.database} (SQL Server ${json.serverVersion} ${edition}) concluído: ${formatBytes(json.totalBytes).replace('.', ',')} em ${formatDuration(json.durationMs, language)}${promoted ? ` (pedido ${requested}, sem base: feito completo)` : ''}.`;
	return `${json.type[0].toUpperCase()}${json.type.slice(1)} backup ${json.backupId} of database ${json.database} (SQL Server ${json.serverVersion} ${edition}) done: ${formatBytes(json.totalBytes)} in ${formatDuration(json.durationMs)}${promoted ? ` (${requested} requested, no base: made a full)` : ''}.`;
}

const backupTypeOf = (ctx: IExecuteFunctions, i: number) =>
	ctx.getNodeParameter('sqlServerBackupType', i, 'full') as 'full' | 'differential' | 'log';

/** SQL Server writes the backup into the shared folder; one set per input item. */
export async function execute(
	this: IExecuteFunctions,
	i: number,
	_item: INodeExecutionData,
	run: DumpRun,
): Promise<BackupItemJson> {
	const type = backupTypeOf(this, i);
	const result = await makeBackup(new SqlServerSource(), {
		connection: await run.sqlServer(),
		options: readOptions(this, i),
		environment: run.environment(i),
		type,
		stagingFolder: run.stagingFolder(i),
		log: this.logger,
		signal: this.getExecutionCancelSignal?.(),
	});
	const json = backupItem(result, '');
	const m = manifestOf(result.manifest, 'sqlserver');
	json.summary = summary(json, m.source.edition.replace(/\s*\(64-bit\)\s*$/i, ''), type, summaryLanguage(this)(i));
	this.logger.info(json.summary);
	return json;
}

/** The SQL Server set that was asked for, not made. */
export async function failed(
	this: IExecuteFunctions,
	i: number,
	_item: INodeExecutionData,
	run: DumpRun,
	startedAt: Date,
): Promise<IDataObject> {
	return failedDatabaseDump(
		run.sqlServer(),
		{ environment: run.environment(i), engine: 'sqlserver', type: backupTypeOf(this, i) },
		startedAt,
	);
}
