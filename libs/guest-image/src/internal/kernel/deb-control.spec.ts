import { describe, expect, it } from '@jest/globals';
import { kernelPackageFromDepends, parseControlStanza } from './deb-control';

const SHOW = `Package: linux-image-amd64
Source: linux-signed-amd64 (6.1.192+2)
Version: 6.1.192-2
Depends: linux-image-6.1.0-56-amd64 (= 6.1.192-2)
Description: Linux for 64-bit PCs (meta-package)
 This package depends on the latest Linux kernel.
SHA256: 45457bcfc86c87585800b5656bdf2773b063a3bb95486b0e820d51e870491f8d

Package: linux-image-amd64
Version: 6.1.176-1
Depends: linux-image-6.1.0-50-amd64 (= 6.1.176-1)
`;

describe('parseControlStanza', () => {
  it('reads only the first stanza, joining continuation lines', () => {
    const stanza = parseControlStanza(SHOW);
    expect(stanza.get('Version')).toBe('6.1.192-2');
    expect(stanza.get('Description')).toBe('Linux for 64-bit PCs (meta-package)\nThis package depends on the latest Linux kernel.');
    expect(stanza.get('SHA256')).toMatch(/^45457b/);
  });
});

describe('kernelPackageFromDepends', () => {
  it('picks the versioned image package', () => {
    expect(kernelPackageFromDepends('linux-image-6.1.0-56-amd64 (= 6.1.192-2)')).toBe('linux-image-6.1.0-56-amd64');
  });

  it('skips dependencies that are not kernel images', () => {
    expect(kernelPackageFromDepends('kmod, linux-image-6.1.0-56-amd64 (= 6.1.192-2)')).toBe('linux-image-6.1.0-56-amd64');
    expect(kernelPackageFromDepends('kmod')).toBeUndefined();
  });
});
