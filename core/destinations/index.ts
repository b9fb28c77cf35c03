/**
 * The destinations' entry point: everything outside core/destinations (nodes, set transfer,
 * locking) imports from here, never from a backend's folder. The registry turns a
 * configuration into a Destination and tests it.
 */
export * from './destination';
export { openDestination } from '../upload/open-destination';
export { checkDestination, type DestinationCheck } from '../upload/check-destination';
export { parseServiceAccountKey } from '../upload/google-key';
export { DRIVE_SCOPE } from './google-drive';
