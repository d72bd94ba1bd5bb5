import type { NextConfig } from 'next';

const config: NextConfig = {
  // Do not advertise the framework in every response.
  poweredByHeader: false,
};

export default config;
