import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';
import { BACKUP_KEYS_TEST, testBackupKeysCredential, useBackupKeysProperties } from '../shared/backup-keys';
import { destinationCredentialOptions, destinationCredentialTests } from '../shared/destination-credentials';
import { destinationProperties } from '../shared/destination-parameters';
import * as common from './actions/common.description';
import { operations, router } from './actions/router';

const { destination, localFolder } = destinationProperties();

export class TotvsUpload implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'TOTVS Upload',
		name: 'totvsUpload',
		icon: { light: 'file:totvsUpload.svg', dark: 'file:totvsUpload.dark.svg' },
		group: ['output'],
		// version [1] with defaultVersion 1, not version 1: n8n adds a "Custom API Call" operation to
		// nodes whose credentials extend oAuth2Api (Sign in with Google), but only to a description
		// whose defaultVersion is absent or equal to its version (test/unit/nodes/custom-api-call.test.ts).
		version: [1],
		defaultVersion: 1,
		// Labels, not option values ("Upload to Google Drive"); a literal: n8n's lint reads it.
		subtitle:
			'={{ ($parameter["operation"] === "upload" ? "Upload to " : $parameter["operation"] === "list" ? "List on " : $parameter["operation"] === "download" ? "Download from " : "Prune on ") + ($parameter["destination"] === "sftp" ? "SFTP" : $parameter["destination"] === "ftp" ? "FTP" : $parameter["destination"] === "local" ? "Local Folder" : "Google Drive") }}',
		description:
			'Copy TOTVS backup sets off-site (SFTP, FTP/FTPS, Google Drive, network folder), verified; list, download and prune them',
		defaults: { name: 'TOTVS Upload' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		// Not for AI agents: n8n offers a tool node with all its operations, and Prune deletes sets.
		// (Stated rather than left out: the community lint rule node-usable-as-tool wants a decision.)
		usableAsTool: undefined,
		// Names and tests spelled out: n8n's lint rule credential-test-required reads only literals.
		credentials: [
			{ name: 'totvsSftp', testedBy: 'totvsSftpConnectionTest', ...destinationCredentialOptions('sftp') },
			{ name: 'totvsFtp', testedBy: 'totvsFtpConnectionTest', ...destinationCredentialOptions('ftp') },
			{
				name: 'totvsGoogleDriveApi',
				testedBy: 'totvsGoogleDriveConnectionTest',
				...destinationCredentialOptions('googleDrive'),
			},
			// OAuth2: n8n tests it by the sign-in itself, so no testedBy
			{ name: 'totvsGoogleDriveOAuth2Api', ...destinationCredentialOptions('googleDriveSignIn') },
			{
				name: 'totvsBackupKeys',
				required: true,
				testedBy: 'totvsBackupKeysTest',
				displayOptions: { show: { useBackupKeys: [true] } },
			},
		],
		properties: [
			destination,
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Download',
						value: 'download',
						description: 'Fetch a set to the staging folder and verify it',
						action: 'Download a backup set',
					},
					{
						name: 'List',
						value: 'list',
						description: 'List the sets on the destination, with status and size',
						action: 'List backup sets',
					},
					{
						name: 'Prune',
						value: 'prune',
						description: 'Delete old sets by a retention policy, never breaking a chain',
						action: 'Prune old backup sets',
					},
					{
						name: 'Upload',
						value: 'upload',
						description: 'Copy the backup set of each item to the destination',
						action: 'Upload a backup set',
					},
				],
				default: 'upload',
			},
			localFolder,
			...operations.upload.description,
			common.environment,
			...operations.download.description,
			...operations.prune.description,
			...operations.list.description,
			// Signatures (issue 12): checked on every manifest read (the local set, the destination's).
			...useBackupKeysProperties(),
			common.options,
		],
	};

	methods = { credentialTest: { ...destinationCredentialTests, [BACKUP_KEYS_TEST]: testBackupKeysCredential } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return router.call(this);
	}
}
