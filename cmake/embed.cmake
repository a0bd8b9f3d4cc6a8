# SPDX-License-Identifier: BSD-2-Clause
# cmake -DIN=file -DOUT=file.c -DNAME=symbol -P embed.cmake: file's text as `const char NAME[]`.
file(READ "${IN}" text)
string(REPLACE "\\" "\\\\" text "${text}")
string(REPLACE "\"" "\\\"" text "${text}")
string(REPLACE "\n" "\\n\"\n\t\"" text "${text}")
file(WRITE "${OUT}.tmp" "/* Generated from ${IN} by cmake/embed.cmake: do not edit. */\nconst char ${NAME}[] =\n\t\"${text}\";\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
