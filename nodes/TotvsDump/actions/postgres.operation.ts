import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { makeBackup, type BackupResult } from '../../../core/backup';
import type { CompressionMethod } from '../../../core/backup-set/manifest';
import { defaultDumpOptions, PostgresSource, type PostgresDumpOptions } from '../../../core/sources/postgres';
import { backupItem, type BackupItemJson } from '../../shared/backup-item';
import { splitList, summaryLanguage } from '../../shared/run-items';
import { dumpSummary, languageOption, type Language } from '../../shared/summary';
import { failedDatabaseDump, type DumpRun } from './run';
import { sendingWhileDumping } from './send-while-dumping';

/** TOTVS Dump's options for a PostgreSQL source. */
const postgresOptions: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	// Also the database half of "Database + Files" (a restore point).
	displayOptions: { show: { source: ['postgres', 'postgresAndFiles'] } },
	placeholder: 'Add Option',
	default: {},
	options: [
		{
			displayName: 'Check Free Space',
			name: 'checkFreeSpace',
			type: 'boolean',
			default: true,
			description:
				'Whether to refuse to start when the staging disk clearly cannot hold the dump (estimated from the table sizes)',
		},
		{
			displayName: 'Compression',
			name: 'compression',
			type: 'options',
			options: [
				{ name: 'Gzip', value: 'gzip', description: 'Any pg_dump version' },
				{ name: 'LZ4', value: 'lz4', description: 'Fastest; needs pg_dump 16+' },
				{ name: 'None', value: 'none' },
				{ name: 'Zstandard', value: 'zstd', description: 'Smaller and faster than gzip; needs pg_dump 16+' },
			],
			default: 'gzip',
		},
		{
			displayName: 'Compression Level',
			name: 'compressionLevel',
			type: 'number',
			default: -1,
			description: "Level for the chosen compression (gzip 1-9, zstd 1-22, lz4 1-12). -1 uses pg_dump's default.",
		},
		{
			displayName: 'Exact Row Counts Up To (MB)',
			name: 'exactCountLimitMb',
			type: 'number',
			default: 0,
			description:
				"Tables larger than this get the planner's row estimate instead of count(*), marked as estimated in the manifest. 0 counts every table exactly.",
		},
		{
			displayName: 'Exclude Schemas',
			name: 'excludeSchemas',
			type: 'string',
			default: '',
			description: 'Comma-separated pg_dump schema patterns to leave out',
		},
		{
			displayName: 'Exclude Tables',
			name: 'excludeTables',
			type: 'string',
			default: '',
			placeholder: 'public.zz*_log',
			description: 'Comma-separated pg_dump table patterns to leave out',
		},
		{
			displayName: 'Fingerprint Rows',
			name: 'fingerprintRows',
			type: 'number',
			default: 1000,
			description:
				'Rows of each key Protheus table (SA1, SB1, SE1, CT2…) hashed into the manifest, so a restore can prove the content and its encoding are intact',
		},
		{
			displayName: 'Format',
			name: 'format',
			type: 'options',
			options: [
				{ name: 'Custom (One File)', value: 'custom', description: 'Made with pg_dump -Fc' },
				{
					name: 'Directory (Parallel)',
					value: 'directory',
					description: 'Made with pg_dump -Fd -j N: faster on large databases',
				},
			],
			default: 'custom',
		},
		{
			displayName: 'Include Schemas',
			name: 'includeSchemas',
			type: 'string',
			default: '',
			description: 'Comma-separated pg_dump schema patterns; empty backs up all schemas',
		},
		{
			displayName: 'Include Tables',
			name: 'includeTables',
			type: 'string',
			default: '',
			description:
				'Comma-separated pg_dump table patterns; empty backs up all tables. With tables given, only those tables are dumped (no functions).',
		},
		{
			displayName: 'Lock Wait Timeout (Seconds)',
			name: 'lockWaitTimeoutSeconds',
			type: 'number',
			default: 600,
			typeOptions: { minValue: 0 },
			description:
				'How long the dump waits for a table another session locked (ALTER, TRUNCATE, VACUUM FULL) before failing with the name of that session. 0 waits forever.',
		},
		{
			displayName: 'Parallel Jobs',
			name: 'jobs',
			// pg_dump runs workers for the directory format only (the custom format is one process).
			displayOptions: { show: { format: ['directory'] } },
			type: 'number',
			default: 2,
			typeOptions: { minValue: 1, maxValue: 32 },
			description: 'Number of pg_dump workers for the directory format',
		},
		languageOption,
	],
};

export function readPostgresOptions(ctx: IExecuteFunctions, itemIndex: number): PostgresDumpOptions {
	const o = ctx.getNodeParameter('options', itemIndex, {}) as IDataObject;
	const level = Number(o.compressionLevel ?? -1);
	return {
		format: (o.format as PostgresDumpOptions['format']) ?? defaultDumpOptions.format,
		jobs: Number(o.jobs ?? defaultDumpOptions.jobs),
		compression: (o.compression as CompressionMethod) ?? defaultDumpOptions.compression,
		compressionLevel: level < 0 ? null : level,
		selection: {
			includeSchemas: splitList(o.includeSchemas),
			excludeSchemas: splitList(o.excludeSchemas),
			includeTables: splitList(o.includeTables),
			excludeTables: splitList(o.excludeTables),
		},
		exactCountMaxBytes: Number(o.exactCountLimitMb ?? 0) * 1024 * 1024,
		fingerprintRows: Number(o.fingerprintRows ?? defaultDumpOptions.fingerprintRows),
		checkFreeSpace: o.checkFreeSpace !== false,
		lockWaitTimeoutSeconds: Number(o.lockWaitTimeoutSeconds ?? defaultDumpOptions.lockWaitTimeoutSeconds),
	};
}

/** The item of a PostgreSQL set, with its one-sentence summary. */
export function postgresItem(result: BackupResult, language: Language): BackupItemJson {
	const json = backupItem(result, '');
	// A PostgreSQL set always has the database fields (backupItem fills them for database engines;
	// the dump's own manifest has its inventory even when the set is sealed).
	const counts = { tableCount: json.tableCount ?? 0, rowCount: json.rowCount ?? 0 };
	json.summary = dumpSummary({ ...(json as Required<typeof json>), ...counts }, language);
	return json;
}

export const description: INodeProperties[] = [postgresOptions];

/** One full pg_dump set of the credential's database per input item. */
export async function execute(
	this: IExecuteFunctions,
	i: number,
	_item: INodeExecutionData,
	run: DumpRun,
): Promise<BackupItemJson> {
	const connection = await run.postgres();
	const environment = run.environment(i);
	const { result, earlySend } = await sendingWhileDumping(this, i, environment, () =>
		makeBackup(new PostgresSource(), {
			connection,
			options: readPostgresOptions(this, i),
			environment,
			type: 'full',
			stagingFolder: run.stagingFolder(i),
			log: this.logger,
			signal: this.getExecutionCancelSignal?.(),
		}),
	);
	const json = postgresItem(result, summaryLanguage(this)(i));
	this.logger.info(json.summary);
	return earlySend ? { ...json, earlySend: { ...earlySend } } : json;
}

/** The database set that was asked for, not made. */
export async function failed(
	this: IExecuteFunctions,
	i: number,
	_item: INodeExecutionData,
	run: DumpRun,
	startedAt: Date,
): Promise<IDataObject> {
	return failedDatabaseDump(
		run.postgres(),
		{ environment: run.environment(i), engine: 'postgres', type: 'full' },
		startedAt,
	);
}
