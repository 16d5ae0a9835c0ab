#include "format/chunk_hash.h"

#include <openssl/evp.h>

#include <memory>

#include "util/byte_decoder.h"
#include "util/py_literal.h"

namespace vh5 {
namespace {

struct DigestContext {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
  DigestContext() { EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr); }
  void Update(const void* data, size_t len) { EVP_DigestUpdate(ctx.get(), data, len); }
  ChunkHash Final() {
    ChunkHash out{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx.get(), out.data(), &len);
    return out;
  }
};

}  // namespace

ChunkHash HashFixedChunk(std::string_view bytes, const std::vector<uint64_t>& extent) {
  DigestContext d;
  d.Update(bytes.data(), bytes.size());
  std::string shape = py::TupleRepr(extent);
  d.Update(shape.data(), shape.size());
  return d.Final();
}

ChunkHash HashStringChunk(const std::vector<std::string_view>& elements,
                          const std::vector<uint64_t>& extent) {
  DigestContext d;
  for (std::string_view e : elements) {
    uint8_t len[8];
    StoreLe(len, sizeof len, e.size());
    d.Update(len, sizeof len);
    d.Update(e.data(), e.size());
  }
  std::string shape = py::TupleRepr(extent);
  d.Update(shape.data(), shape.size());
  return d.Final();
}

}  // namespace vh5
