/** SQL Server's entry point: nodes and orchestration import the engine from here only. */
export { SqlServerSource, defaultSqlServerDumpOptions, type SqlServerDumpOptions } from './sqlserver-source';
export { connectSqlServer } from './mssql-runner';
export { checkSharedFolder, isInShared, serverPathFor, type SharedFolder } from './shared-folder';
export type { SqlServerAddress } from './restore/target';
export { NO_TRUSTED_FOLDER, trustedRecordedFolder } from './restore/recorded-folder';
export type { SqlRunner } from './runner';
export type { SqlServerVerifyAccess } from './verify';
export { defaultSqlServerTimeouts, type SqlServerConnection } from './connection';
export { credentialTestMessage, describeServerForCredential } from './connection-test';
