export { TotvsDump } from './nodes/TotvsDump/TotvsDump.node';
export { TotvsVerify } from './nodes/TotvsVerify/TotvsVerify.node';
export { TotvsPostgres } from './credentials/TotvsPostgres.credentials';
