import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';
import { BACKUP_KEYS_TEST, testBackupKeysCredential } from '../shared/backup-keys';
import { DEFAULT_STAGING_FOLDER, labelOf, STAGING_FOLDER_PLACEHOLDER } from '../shared/hints';
import { POSTGRES_CREDENTIAL_TEST, testPostgresCredential } from '../shared/postgres-credential';
import { SQLSERVER_CREDENTIAL_TEST, testSqlServerCredential } from '../shared/sqlserver-credential';
import { testSftpCredential } from '../shared/destination-credentials';
import { router, sources } from './actions/router';
import * as sendWhileDumping from './actions/send-while-dumping';

const BACKUP_TYPE_LABELS = { full: 'Full', differential: 'Differential', incremental: 'Incremental', log: 'Log' };
const PITR_ACTION_LABELS = { full: 'Base Backup', incremental: 'Collect WAL', dropSlot: 'Drop Slot' };

export class TotvsDump implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'TOTVS Dump',
		name: 'totvsDump',
		icon: { light: 'file:totvsDump.svg', dark: 'file:totvsDump.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: `={{ ($parameter["source"] === "sqlserver" ? "SQL Server " + ${labelOf('sqlServerBackupType', BACKUP_TYPE_LABELS)} : $parameter["source"] === "protheusFiles" ? "Files " + ${labelOf('filesBackupType', BACKUP_TYPE_LABELS)} : $parameter["source"] === "postgresAndFiles" ? "PostgreSQL + Files " + ${labelOf('filesBackupType', BACKUP_TYPE_LABELS)} : $parameter["source"] === "postgresPitr" ? "Point in Time " + ${labelOf('pitrAction', PITR_ACTION_LABELS)} : "PostgreSQL") + " → " + ($parameter["environment"] || "") }}`,
		description: 'Back up a TOTVS Protheus database or file tree into a verified, self-describing backup set',
		defaults: { name: 'TOTVS Dump' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		usableAsTool: true,
		// Literals, not POSTGRES_CREDENTIAL / POSTGRES_CREDENTIAL_TEST: n8n's linter reads them to
		// check that the credential is tested (credential-test-required).
		credentials: [
			{
				name: 'totvsPostgres',
				required: true,
				testedBy: 'totvsPostgresConnectionTest',
				displayOptions: { show: { source: ['postgres', 'postgresAndFiles', 'postgresPitr'] } },
			},
			{
				name: 'totvsSqlServer',
				required: true,
				testedBy: 'totvsSqlServerConnectionTest',
				displayOptions: { show: { source: ['sqlserver'] } },
			},
			{
				name: 'totvsBackupKeys',
				required: true,
				testedBy: 'totvsBackupKeysTest',
				// Every source can seal; a source condition here would make n8n's editor take Source
				// for an auth field and hide it (test/unit/nodes/editor-node-panel.test.ts).
				displayOptions: { show: { encryptAndSign: [true] } },
			},
			{
				name: 'totvsSftp',
				required: true,
				testedBy: 'totvsSftpConnectionTest',
				// Send While Dumping (PostgreSQL, sealed); its Source condition is on the switch itself.
				displayOptions: { show: { encryptAndSign: [true], sendWhileDumping: [true] } },
			},
		],
		properties: [
			{
				displayName: 'Source',
				name: 'source',
				type: 'options',
				options: [
					{
						name: 'Database + Files (Restore Point)',
						value: 'postgresAndFiles',
						description:
							'The PostgreSQL database, then the Protheus files, as two sets of one restore point sharing a restorePointId',
					},
					{
						name: 'PostgreSQL (Point in Time)',
						value: 'postgresPitr',
						description:
							'Base backups with pg_basebackup plus the WAL every few minutes with pg_receivewal, for a restore to any minute (docs/pitr.md)',
					},
					{
						name: 'PostgreSQL Database',
						value: 'postgres',
						description: 'Protheus database on PostgreSQL, with pg_dump',
					},
					{
						name: 'Protheus Files',
						value: 'protheusFiles',
						description: 'RPOs, ini files and Protheus_Data as a tar archive: full, differential or incremental',
					},
					{
						name: 'SQL Server Database',
						value: 'sqlserver',
						description:
							'Protheus or RM database on SQL Server: full, differential or log backup written by SQL Server to a shared folder',
					},
				],
				default: 'postgres',
				description: 'What to back up',
			},
			{
				displayName: 'Environment',
				name: 'environment',
				type: 'string',
				default: 'prod',
				required: true,
				description:
					'Name of the TOTVS environment; sets are stored under &lt;staging folder&gt;/&lt;environment&gt;/ and their IDs start with it',
			},
			{
				displayName: 'Staging Folder',
				name: 'stagingFolder',
				type: 'string',
				default: '',
				placeholder: STAGING_FOLDER_PLACEHOLDER,
				description: `Local or mounted network folder where backup sets are written. It must exist. Leave empty for ${DEFAULT_STAGING_FOLDER}.`,
			},
			{
				displayName: 'Encrypt and Sign',
				name: 'encryptAndSign',
				type: 'boolean',
				default: false,
				description:
					"Whether to encrypt every artifact as it is written (age, for the public keys of the TOTVS Backup Keys credential) and sign the manifest. The backup host needs only public keys; a sealed files differential or incremental also needs the Identity to read its parent's sealed index. See docs/sealing.md.",
			},
			...sendWhileDumping.description,
			...sources.sqlserver.description,
			// The Options collections after every main parameter: for "Database + Files", the
			// database's Options between the files' parameters and their Files Options.
			...sources.protheusFiles.description.filter((p) => p.name !== 'filesOptions'),
			...sources.postgres.description,
			...sources.protheusFiles.description.filter((p) => p.name === 'filesOptions'),
			...sources.postgresAndFiles.description,
			...sources.postgresPitr.description,
		],
	};

	methods = {
		credentialTest: {
			[POSTGRES_CREDENTIAL_TEST]: testPostgresCredential,
			[SQLSERVER_CREDENTIAL_TEST]: testSqlServerCredential,
			[BACKUP_KEYS_TEST]: testBackupKeysCredential,
			totvsSftpConnectionTest: testSftpCredential,
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return router.call(this);
	}
}
