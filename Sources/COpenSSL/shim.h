#ifndef PASSAUTH_COPENSSL_SHIM_H
#define PASSAUTH_COPENSSL_SHIM_H
/* AES-256-GCM from OpenSSL's libcrypto (already loaded by libcurl), wrapped in two plain functions so
 * the Swift side never juggles EVP contexts or control macros. */
#include <openssl/evp.h>
#include <openssl/rand.h>

/* Encrypts `length` bytes of `input` into `output` (same length) and writes the 16-byte tag.
 * Returns 1 on success. */
static inline int passauth_aes256gcm_seal(const unsigned char *key, const unsigned char *iv,
                                          const unsigned char *aad, int aad_length,
                                          const unsigned char *input, int length,
                                          unsigned char *output, unsigned char *tag) {
    EVP_CIPHER_CTX *context = EVP_CIPHER_CTX_new();
    int ok = context != NULL, written = 0, final_written = 0;
    ok = ok && EVP_EncryptInit_ex(context, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1;
    ok = ok && EVP_EncryptInit_ex(context, NULL, NULL, key, iv) == 1;
    ok = ok && (aad_length == 0 || EVP_EncryptUpdate(context, NULL, &written, aad, aad_length) == 1);
    ok = ok && (length == 0 || EVP_EncryptUpdate(context, output, &written, input, length) == 1);
    ok = ok && EVP_EncryptFinal_ex(context, output + (length ? written : 0), &final_written) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
    EVP_CIPHER_CTX_free(context);
    return ok;
}

/* Decrypts and authenticates; returns 1 only when the tag matches (right key, untouched data). */
static inline int passauth_aes256gcm_open(const unsigned char *key, const unsigned char *iv,
                                          const unsigned char *aad, int aad_length,
                                          const unsigned char *input, int length,
                                          const unsigned char *tag, unsigned char *output) {
    EVP_CIPHER_CTX *context = EVP_CIPHER_CTX_new();
    int ok = context != NULL, written = 0, final_written = 0;
    ok = ok && EVP_DecryptInit_ex(context, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1;
    ok = ok && EVP_DecryptInit_ex(context, NULL, NULL, key, iv) == 1;
    ok = ok && (aad_length == 0 || EVP_DecryptUpdate(context, NULL, &written, aad, aad_length) == 1);
    ok = ok && (length == 0 || EVP_DecryptUpdate(context, output, &written, input, length) == 1);
    ok = ok && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, 16, (void *)tag) == 1;
    ok = ok && EVP_DecryptFinal_ex(context, output + (length ? written : 0), &final_written) == 1;
    EVP_CIPHER_CTX_free(context);
    return ok;
}

/* Cryptographically strong random bytes; returns 1 on success. */
static inline int passauth_random_bytes(unsigned char *output, int length) {
    return RAND_bytes(output, length);
}
#endif
