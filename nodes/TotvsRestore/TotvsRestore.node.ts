import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';
import { BACKUP_KEYS_TEST, testBackupKeysCredential, useBackupKeysProperties } from '../shared/backup-keys';
import { destinationCredentialOptions, destinationCredentialTests } from '../shared/destination-credentials';
import { POSTGRES_CREDENTIAL_TEST, testPostgresCredential } from '../shared/postgres-credential';
import { restoreOptions, restoreServerProperty, restoreSetProperties } from '../shared/restore-parameters';
import { SQLSERVER_CREDENTIAL_TEST, testSqlServerCredential } from '../shared/sqlserver-credential';
import { languageOption } from '../shared/summary';
import * as database from './actions/database.operation';
import * as files from './actions/files.operation';
import * as pointInTime from './actions/point-in-time.operation';
import * as restorePoint from './actions/restore-point.operation';
import { router } from './actions/router';

/** The destination credentials are offered for "From a Destination" only. */
const fromDestination = { setSource: ['destination'] };

export class TotvsRestore implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'TOTVS Restore',
		name: 'totvsRestore',
		icon: { light: 'file:totvsRestore.svg', dark: 'file:totvsRestore.dark.svg' },
		group: ['transform'],
		// version [1] with defaultVersion 1, not version 1: n8n adds a "Custom API Call" operation to
		// nodes whose credentials extend oAuth2Api (Sign in with Google), but only to a description
		// whose defaultVersion is absent or equal to its version (test/unit/nodes/custom-api-call.test.ts).
		version: [1],
		defaultVersion: 1,
		subtitle:
			'={{ "Restore into " + ($parameter["operation"] === "files" ? ($parameter["targetFolder"] || "(no target yet)") : ($parameter["targetDatabase"] || "(no target yet)")) }}',
		description:
			'Recover a TOTVS database, Protheus file tree or whole restore point from backup sets: restored under a temporary name, checked, then given the target name',
		defaults: { name: 'TOTVS Restore' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		// Not for AI agents: every operation creates or replaces a database.
		// (Stated rather than left out: the community lint rule node-usable-as-tool wants a decision.)
		usableAsTool: undefined,
		// As TOTVS Restore Test: '/restoreServer' keeps n8n's editor from hiding Restore Server and
		// Backup Set, and names and tests are literals for the lint rule credential-test-required.
		credentials: [
			{
				name: 'totvsPostgres',
				required: true,
				testedBy: 'totvsPostgresConnectionTest',
				displayName: 'Restore Server Credential',
				displayOptions: { show: { '/restoreServer': ['postgres'], '/operation': ['database', 'restorePoint'] } },
			},
			{
				name: 'totvsSqlServer',
				required: true,
				testedBy: 'totvsSqlServerConnectionTest',
				displayName: 'Restore Server Credential',
				displayOptions: { show: { '/restoreServer': ['sqlserver'], '/operation': ['database', 'restorePoint'] } },
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
						name: 'Restore Database',
						value: 'database',
						action: 'Restore a database from a backup set',
						description:
							'Real recovery of a PostgreSQL or SQL Server set into a named database, checked before it takes the name',
					},
					{
						name: 'Restore Files',
						value: 'files',
						action: 'Restore a files tree from a backup set',
						description:
							'Real recovery of a Protheus file tree into a folder, checked beside it before it takes the name',
					},
					{
						name: 'Restore to a Point in Time',
						value: 'pointInTime',
						action: 'Recover a database to a point in time',
						description:
							'A new PostgreSQL data folder recovered to a chosen time from a PostgreSQL (Point in Time) chain, with the runbook to put it into service',
					},
					{
						name: 'Restore Point',
						value: 'restorePoint',
						action: 'Restore a database and its files from a restore point',
						description: 'The database first, then the Protheus files only if the database succeeded',
					},
				],
				default: 'database',
			},
			restoreServerProperty,
			...database.notices,
			...restorePoint.description,
			...restoreSetProperties,
			...database.targetParameters,
			...files.description,
			...pointInTime.description,
			// Sealed sets (issue 12): Use Backup Keys / Accept Unsigned Sets
			...useBackupKeysProperties(),
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					restoreOptions.encoding,
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
