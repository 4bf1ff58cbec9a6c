/** One address a host name resolves to. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/**
 * Resolves a host name to every address it currently has. Injected so that a test can make a name
 * resolve to a private address, and so that a URL is vetted and connected to with one answer.
 */
export interface AddressResolver {
  /** Every address of the name; an empty list or a throw when it does not resolve. */
  resolve(hostname: string): Promise<ResolvedAddress[]>;
}
