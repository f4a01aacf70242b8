// The slice of node-forge's API that certificate generation uses (node-forge ships no types).
declare module 'node-forge' {
  export namespace util {
    interface ByteStringBuffer {
      getBytes(): string;
      toHex(): string;
    }
    function hexToBytes(hex: string): string;
    function bytesToHex(bytes: string): string;
  }

  export namespace md {
    interface MessageDigest {
      update(bytes: string, encoding?: string): MessageDigest;
      digest(): util.ByteStringBuffer;
    }
    namespace sha256 {
      function create(): MessageDigest;
    }
  }

  export namespace pki {
    type PublicKey = object;
    type PrivateKey = object;

    interface CertificateField {
      name?: string;
      shortName?: string;
      type?: string;
      value: string;
    }

    interface Certificate {
      serialNumber: string;
      publicKey: PublicKey;
      validity: { notBefore: Date; notAfter: Date };
      setSubject(attrs: CertificateField[]): void;
      setIssuer(attrs: CertificateField[]): void;
      setExtensions(exts: Record<string, unknown>[]): void;
      generateSubjectKeyIdentifier(): util.ByteStringBuffer;
      sign(key: PrivateKey, md: md.MessageDigest): void;
    }

    function createCertificate(): Certificate;
    function certificateToPem(cert: Certificate): string;
    function privateKeyFromPem(pem: string): PrivateKey;
    function publicKeyFromPem(pem: string): PublicKey;
  }

  const forge: { util: typeof util; md: typeof md; pki: typeof pki };
  export default forge;
}
