/** Protocol files in kernel C (docs/protocol-files.md): what the library re-exports. */
export { loadProtocol, parseProtocol, ProtocolFile, ProtocolError } from './protocol-file.js';
export { SHIPPED_PROTOCOLS, protocolsDir, shippedProtocol, shippedProtocolPath } from './shipped.js';
