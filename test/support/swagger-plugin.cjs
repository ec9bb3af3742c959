// ts-jest hook for the @nestjs/swagger CLI plugin, so that the tests serve the same OpenAPI
// metadata as the `nest build` output (options as in nest-cli.json).
const plugin = require('@nestjs/swagger/plugin');

module.exports.name = 'nestjs-swagger-plugin';
module.exports.version = 1;
module.exports.factory = (compiler) =>
  plugin.before(
    { introspectComments: true, classValidatorShim: true, esmCompatible: true },
    compiler.program,
  );
