import type { INodeParameters } from 'n8n-workflow';
import { TotvsPostgres } from '../credentials/TotvsPostgres.credentials';
import { TotvsDump } from '../nodes/TotvsDump/TotvsDump.node';
import { TotvsVerify } from '../nodes/TotvsVerify/TotvsVerify.node';
import { TotvsUpload } from '../nodes/TotvsUpload/TotvsUpload.node';
import { TotvsFtp } from '../credentials/TotvsFtp.credentials';
import { TotvsGoogleDriveApi } from '../credentials/TotvsGoogleDriveApi.credentials';
import { TotvsSftp } from '../credentials/TotvsSftp.credentials';
import { TotvsRestoreTest } from '../nodes/TotvsRestoreTest/TotvsRestoreTest.node';
import type { PgConnectionInfo } from './postgres';
import {
	MANUAL_TRIGGER_TYPE,
	PACKAGE_NAME,
	packageNodeTypes,
	runWorkflow,
	type HarnessCredential,
	type WorkflowInput,
} from './n8n-engine';

export const DUMP_TYPE = `${PACKAGE_NAME}.totvsDump`;
export const VERIFY_TYPE = `${PACKAGE_NAME}.totvsVerify`;
export const UPLOAD_TYPE = `${PACKAGE_NAME}.totvsUpload`;

export interface PostgresCredentialData {
	host: string;
	port: number;
	database: string;
	user: string;
	password: string;
	sslMode: string;
	binFolder: string;
	[key: string]: string | number;
}

export function credentialFor(
	server: PgConnectionInfo,
	database: string,
	user = server.user,
	password = server.password,
): PostgresCredentialData {
	return {
		host: server.host,
		port: server.port,
		database,
		user,
		password,
		sslMode: 'disable',
		binFolder: server.binDir,
	};
}

export interface DumpVerifyOptions {
	dumpParameters?: INodeParameters;
	verifyParameters?: INodeParameters;
	/** Continue On Fail on both nodes. */
	continueOnFail?: boolean;
	withVerify?: boolean;
}

/** Manual Trigger -> TOTVS Dump -> TOTVS Verify, as a user would build it in the editor. */
export function dumpVerifyWorkflow(options: DumpVerifyOptions = {}): WorkflowInput {
	const withVerify = options.withVerify ?? true;
	return {
		nodes: [
			{ name: 'Start', type: MANUAL_TRIGGER_TYPE },
			{
				name: 'TOTVS Dump',
				type: DUMP_TYPE,
				parameters: { environment: 'prod', ...options.dumpParameters },
				credentials: { totvsPostgres: { id: 'pg', name: 'Protheus PostgreSQL' } },
				continueOnFail: options.continueOnFail,
			},
			...(withVerify
				? [
						{
							name: 'TOTVS Verify',
							type: VERIFY_TYPE,
							parameters: { ...options.verifyParameters },
							continueOnFail: options.continueOnFail,
						},
					]
				: []),
		],
		connections: {
			Start: { main: [[{ node: 'TOTVS Dump', type: 'main', index: 0 }]] },
			...(withVerify ? { 'TOTVS Dump': { main: [[{ node: 'TOTVS Verify', type: 'main', index: 0 }]] } } : {}),
		},
	};
}

/** `otherCredentials`: more credentials by id, e.g. a restore server's beside production's `pg`. */
export function runTotvsWorkflow(
	workflow: WorkflowInput,
	credential: PostgresCredentialData,
	otherCredentials: Record<string, HarnessCredential> = {},
) {
	return runWorkflow(workflow, {
		nodeTypes: packageNodeTypes([new TotvsDump(), new TotvsVerify(), new TotvsRestoreTest(), new TotvsUpload()]),
		credentialTypes: [new TotvsPostgres(), new TotvsSftp(), new TotvsFtp(), new TotvsGoogleDriveApi()],
		credentials: { pg: { type: 'totvsPostgres', name: 'Protheus PostgreSQL', data: credential }, ...otherCredentials },
	});
}
