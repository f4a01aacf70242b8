import { BlockList, isIP } from 'node:net';

// The same set RabbitMQ's rabbit_net:is_loopback/1 accepts: 127.0.0.0/8, ::1 and
// IPv4-mapped 127.x (BlockList matches ::ffff:a.b.c.d against the IPv4 rule).
const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  // a zone id (fe80::1%lo0) is not part of the address proper
  const bare = address.includes('%') ? address.slice(0, address.indexOf('%')) : address;
  const family = isIP(bare);
  if (family === 0) return false;
  return loopback.check(bare, family === 6 ? 'ipv6' : 'ipv4');
}
