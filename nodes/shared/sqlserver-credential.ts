import type {
	ICredentialDataDecryptedObject,
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	INodeCredentialTestResult,
} from 'n8n-workflow';
import { defaultSqlServerTimeouts, type SqlServerConnection } from '../../core/sources/sqlserver';
import { credentialTestMessage, describeServerForCredential } from '../../core/sources/sqlserver';
import { connectSqlServer } from '../../core/sources/sqlserver';
import { testPassed } from './hints';

export const SQLSERVER_CREDENTIAL = 'totvsSqlServer';
export const SQLSERVER_CREDENTIAL_TEST = 'totvsSqlServerConnectionTest';

const seconds = (value: unknown, fallbackMs: number) => (Number(value) > 0 ? Number(value) * 1000 : fallbackMs);

export function sqlServerConnection(data: ICredentialDataDecryptedObject): SqlServerConnection {
	const byInstance = data.connectBy === 'instance' && String(data.instance ?? '').trim() !== '';
	const encrypt = data.encrypt !== false;
	return {
		server: String(data.server ?? '').trim(),
		port: Number(data.port ?? 1433),
		instance: byInstance ? String(data.instance).trim() : undefined,
		database: String(data.database ?? ''),
		authentication: data.authentication === 'ntlm' ? 'ntlm' : 'sql',
		user: String(data.user ?? ''),
		password: String(data.password ?? ''),
		domain: data.authentication === 'ntlm' ? String(data.domain ?? '') : undefined,
		encrypt,
		trustServerCertificate: encrypt && data.trustServerCertificate === true,
		connectTimeoutMs: seconds(data.connectTimeout, defaultSqlServerTimeouts.connectTimeoutMs),
		requestTimeoutMs: seconds(data.requestTimeout, defaultSqlServerTimeouts.requestTimeoutMs),
	};
}

/** The credential's Test button: connects and reports version, edition and recovery model. */
export async function testSqlServerCredential(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const connection = sqlServerConnection(credential.data ?? {});
	try {
		const runner = await connectSqlServer(connection);
		try {
			const { ok, message } = await describeServerForCredential(runner, connection.database);
			return ok ? testPassed(this, 'TOTVS SQL Server', message) : { status: 'Error', message };
		} finally {
			await runner.close();
		}
	} catch (error) {
		return { status: 'Error', message: credentialTestMessage(error) };
	}
}
