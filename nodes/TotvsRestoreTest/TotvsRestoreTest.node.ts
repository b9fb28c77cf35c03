import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';
import { BACKUP_KEYS_TEST, testBackupKeysCredential, useBackupKeysProperties } from '../shared/backup-keys';
import { destinationCredentialOptions, destinationCredentialTests } from '../shared/destination-credentials';
import { POSTGRES_CREDENTIAL_TEST, testPostgresCredential } from '../shared/postgres-credential';
import { restoreOptions, restoreServerProperty, restoreSetProperties } from '../shared/restore-parameters';
import { SQLSERVER_CREDENTIAL_TEST, testSqlServerCredential } from '../shared/sqlserver-credential';
import { languageOption } from '../shared/summary';
import { operations, router } from './actions/router';

/** The destination credentials are offered for "From a Destination" only. */
const fromDestination = { setSource: ['destination'] };

export class TotvsRestoreTest implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'TOTVS Restore Test',
		name: 'totvsRestoreTest',
		icon: { light: 'file:totvsRestoreTest.svg', dark: 'file:totvsRestoreTest.dark.svg' },
		group: ['transform'],
		// version [1] with defaultVersion 1, not version 1: n8n adds a "Custom API Call" operation to
		// nodes whose credentials extend oAuth2Api (Sign in with Google), but only to a description
		// whose defaultVersion is absent or equal to its version (test/unit/nodes/custom-api-call.test.ts).
		version: [1],
		defaultVersion: 1,
		subtitle:
			'={{ $parameter["operation"] === "files" ? "Restore test of a files set" : ($parameter["operation"] === "restorePoint" ? "Restore test of a restore point on " : "Restore test on ") + ($parameter["operation"] === "files" ? "" : ($parameter["restoreServer"] === "sqlserver" ? "SQL Server" : "PostgreSQL")) }}',
		description:
			'Prove a TOTVS backup restores: a database set, a Protheus files set or a whole restore point, restored into scratch and checked against its manifest',
		defaults: { name: 'TOTVS Restore Test' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		// Not destructive: it creates and drops only its own scratch database (real recovery is TOTVS Restore's).
		usableAsTool: true,
		// The restore server: usually its own credential of the same type as production's.
		// '/restoreServer' (the same root-level parameter) rather than 'restoreServer': n8n's editor
		// takes a parameter whose every value selects a credential as the node's main auth field and
		// hides it, and the parameters its display conditions name (Backup Set), from the node panel.
		// Names and tests spelled out: n8n's lint rule credential-test-required reads only literals.
		credentials: [
			{
				name: 'totvsPostgres',
				required: true,
				testedBy: 'totvsPostgresConnectionTest',
				displayName: 'Restore Server Credential',
				displayOptions: { show: { '/restoreServer': ['postgres'], '/operation': ['restoreTest', 'restorePoint'] } },
			},
			{
				name: 'totvsSqlServer',
				required: true,
				testedBy: 'totvsSqlServerConnectionTest',
				displayName: 'Restore Server Credential',
				displayOptions: { show: { '/restoreServer': ['sqlserver'], '/operation': ['restoreTest', 'restorePoint'] } },
			},
			// "From a Destination": the same destination credentials as TOTVS Upload's
			{
				name: 'totvsSftp',
				testedBy: 'totvsSftpConnectionTest',
				...destinationCredentialOptions('sftp', fromDestination),
			},
			{ name: 'totvsFtp', testedBy: 'totvsFtpConnectionTest', ...destinationCredentialOptions('ftp', fromDestination) },
			{
				name: 'totvsGoogleDriveApi',
				testedBy: 'totvsGoogleDriveConnectionTest',
				...destinationCredentialOptions('googleDrive', fromDestination),
			},
			// OAuth2: n8n tests it by the sign-in itself, so no testedBy
			{ name: 'totvsGoogleDriveOAuth2Api', ...destinationCredentialOptions('googleDriveSignIn', fromDestination) },
			// Sealed sets (issue 12): signatures checked, the identity opens the set (docs/sealing.md)
			{
				name: 'totvsBackupKeys',
				required: true,
				testedBy: 'totvsBackupKeysTest',
				displayOptions: { show: { useBackupKeys: [true] } },
			},
		],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Test Database Set',
						value: 'restoreTest',
						action: 'Prove a database backup restores',
						description: 'Restore into a scratch database, check the ERP data against the manifest, drop it',
					},
					{
						name: 'Test Files Set',
						value: 'files',
						action: 'Prove a files backup restores',
						description:
							'Extract the chain into a scratch folder, check every file and the appserver.ini paths, remove it',
					},
					{
						name: 'Test to a Point in Time',
						value: 'pointInTime',
						action: 'Prove a point in time backup restores',
						description:
							'Recover a PostgreSQL (Point in Time) chain to a chosen time in a private scratch PostgreSQL, check it, remove it',
					},
					{
						name: 'Test Restore Point',
						value: 'restorePoint',
						action: 'Prove a restore point restores',
						description: 'Test the database set and the files set of one restore point together',
					},
				],
				default: 'restoreTest',
			},
			restoreServerProperty,
			...operations.restoreTest.description,
			...operations.files.description,
			...operations.restorePoint.description,
			...operations.pointInTime.description,
			...restoreSetProperties,
			// Sealed sets (issue 12): Use Backup Keys / Accept Unsigned Sets
			...useBackupKeysProperties(),
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Business Date Max Age (Days)',
						name: 'freshnessDays',
						type: 'number',
						default: 3,
						typeOptions: { minValue: 0 },
						displayOptions: { show: { '/restoreServer': ['postgres'] } },
						description:
							'The newest business date (E1_EMISSAO, F2_EMISSAO, CT2_DATA) must be at most this many days before the backup. 0 turns the check off.',
					},
					restoreOptions.encoding,
					restoreOptions.scratchFolder,
					restoreOptions.htmlReport,
					restoreOptions.htmlBinaryProperty,
					restoreOptions.keepOnFailure,
					restoreOptions.keepDownload,
					restoreOptions.jobs,
					restoreOptions.restoreOwners,
					restoreOptions.restorePrivileges,
					languageOption,
				],
			},
		],
	};

	methods = {
		credentialTest: {
			[POSTGRES_CREDENTIAL_TEST]: testPostgresCredential,
			[SQLSERVER_CREDENTIAL_TEST]: testSqlServerCredential,
			...destinationCredentialTests,
			[BACKUP_KEYS_TEST]: testBackupKeysCredential,
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return router.call(this);
	}
}
