import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';
import { makeBackup } from '../../core/backup';
import type { CompressionMethod } from '../../core/backup-set/manifest';
import { defaultDumpOptions, PostgresSource, type PostgresDumpOptions } from '../../core/sources/postgres/postgres-source';
import { backupItem } from '../shared/backup-item';
import { POSTGRES_CREDENTIAL, POSTGRES_CREDENTIAL_TEST, postgresConnection, testPostgresCredential } from '../shared/postgres-credential';
import { forEachBackupItem, splitList } from '../shared/run-items';
import { dumpSummary, languageOption, type Language } from '../shared/summary';

export class TotvsDump implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'TOTVS Dump',
		name: 'totvsDump',
		icon: 'file:totvsDump.svg',
		group: ['transform'],
		version: 1,
		subtitle: '={{ "PostgreSQL → " + ($parameter["environment"] || "") }}',
		description: 'Back up a TOTVS Protheus database into a verified, self-describing backup set',
		defaults: { name: 'TOTVS Dump' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		usableAsTool: true,
		// Literals, not POSTGRES_CREDENTIAL / POSTGRES_CREDENTIAL_TEST: n8n's linter reads them to
		// check that the credential is tested (credential-test-required).
		credentials: [{ name: 'totvsPostgres', required: true, testedBy: 'totvsPostgresConnectionTest' }],
		properties: [
			{
				displayName: 'Environment',
				name: 'environment',
				type: 'string',
				default: 'prod',
				required: true,
				description: 'Name of the TOTVS environment; sets are stored under &lt;staging folder&gt;/&lt;environment&gt;/ and their IDs start with it',
			},
			{
				displayName: 'Staging Folder',
				name: 'stagingFolder',
				type: 'string',
				default: '',
				placeholder: '/mnt/backup/totvs',
				description: 'Local or mounted network folder where backup sets are written. It must exist. Leave empty for ~/.n8n-files/totvs-backups under the n8n user folder.',
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Check Free Space',
						name: 'checkFreeSpace',
						type: 'boolean',
						default: true,
						description: 'Whether to refuse to start when the staging disk clearly cannot hold the dump (estimated from the table sizes)',
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
						description: 'Level for the chosen compression (gzip 1-9, zstd 1-22, lz4 1-12). -1 uses pg_dump\'s default.',
					},
					{
						displayName: 'Exact Row Counts Up To (MB)',
						name: 'exactCountLimitMb',
						type: 'number',
						default: 0,
						description: 'Tables larger than this get the planner\'s row estimate instead of count(*), marked as estimated in the manifest. 0 counts every table exactly.',
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
						description: 'Rows of each key Protheus table (SA1, SB1, SE1, CT2…) hashed into the manifest, so a restore can prove the content and its encoding are intact',
					},
					{
						displayName: 'Format',
						name: 'format',
						type: 'options',
						options: [
							{ name: 'Custom (One File)', value: 'custom', description: 'Made with pg_dump -Fc' },
							{ name: 'Directory (Parallel)', value: 'directory', description: 'Made with pg_dump -Fd -j N: faster on large databases' },
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
						description: 'Comma-separated pg_dump table patterns; empty backs up all tables. With tables given, only those tables are dumped (no functions).',
					},
					{
						displayName: 'Parallel Jobs',
						name: 'jobs',
						type: 'number',
						default: 2,
						typeOptions: { minValue: 1, maxValue: 32 },
						description: 'Number of pg_dump workers for the directory format',
					},
					languageOption,
				],
			},
		],
	};

	methods = { credentialTest: { [POSTGRES_CREDENTIAL_TEST]: testPostgresCredential } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const credential = postgresConnection(await this.getCredentials(POSTGRES_CREDENTIAL));
		const source = new PostgresSource();
		const language = (i: number) => (this.getNodeParameter('options.language', i, 'en') as Language);
		return forEachBackupItem(this, 'TOTVS Dump', language, async (_item, i) => {
			const o = this.getNodeParameter('options', i, {}) as IDataObject;
			const level = Number(o.compressionLevel ?? -1);
			const options: PostgresDumpOptions = {
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
			};
			const result = await makeBackup(source, {
				connection: credential,
				options,
				environment: this.getNodeParameter('environment', i) as string,
				type: 'full',
				stagingFolder: this.getNodeParameter('stagingFolder', i, '') as string,
				log: this.logger,
				signal: this.getExecutionCancelSignal?.(),
			});
			const json = backupItem(result, '');
			json.summary = dumpSummary(json, language(i));
			this.logger.info(json.summary);
			return json;
		});
	}
}
