/** PostgreSQL's entry point: nodes and orchestration import the engine from here only. */
export { PostgresSource, defaultDumpOptions, type PostgresDumpOptions } from './postgres-source';
export { findClientTool, type ClientToolInfo } from './client-tools';
export { connect, describeConnection, type PostgresConnection, type SslMode } from './connection';
// For the point-in-time engine (core/sources/postgres-pitr), which runs other client tools the same way.
export { childEnvironment, connectionError } from './connection';
export { compareVersions, toolVersion } from './client-tools';
