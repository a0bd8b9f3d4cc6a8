# SPDX-License-Identifier: BSD-2-Clause
# Building BPF objects and their libbpf skeletons, in the build directory only.
#
# vmlinux.h is generated at build time from the build host's kernel BTF (TLSREC_VMLINUX_BTF, by default
# /sys/kernel/btf/vmlinux) rather than checked in: it is 2.8 MB of generated text, and CO-RE
# relocations make the objects independent of the kernel they were built against anyway.

find_program(BPF_CLANG NAMES clang clang-14 REQUIRED)
find_program(BPFTOOL bpftool PATHS /usr/sbin /sbin REQUIRED)
set(TLSREC_VMLINUX_BTF /sys/kernel/btf/vmlinux CACHE FILEPATH "Kernel BTF that vmlinux.h is generated from")

execute_process(COMMAND ${BPF_CLANG} -dumpversion OUTPUT_VARIABLE BPF_CLANG_VERSION
		OUTPUT_STRIP_TRAILING_WHITESPACE)
if(BPF_CLANG_VERSION VERSION_LESS 12)
	message(FATAL_ERROR "clang ${BPF_CLANG_VERSION} is too old to build the BPF programs (need 12 or later)")
endif()
if(NOT EXISTS ${TLSREC_VMLINUX_BTF})
	message(FATAL_ERROR "no kernel BTF at ${TLSREC_VMLINUX_BTF}: set TLSREC_VMLINUX_BTF to a vmlinux with BTF")
endif()

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|amd64")
	set(BPF_TARGET_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
	set(BPF_TARGET_ARCH arm64)
else()
	message(FATAL_ERROR "unsupported architecture ${CMAKE_SYSTEM_PROCESSOR}")
endif()

set(BPF_OUT ${CMAKE_BINARY_DIR}/bpf)
file(MAKE_DIRECTORY ${BPF_OUT})

# Call once, in the directory whose bpf_skeleton() calls use vmlinux.h (custom command outputs are
# visible to rules of the same directory only). The skeleton targets wait for the vmlinux_h target:
# with make -j, targets that only shared the command would each run it, at once.
function(bpf_vmlinux_header)
	add_custom_command(OUTPUT ${BPF_OUT}/vmlinux.h
		COMMAND ${BPFTOOL} btf dump file ${TLSREC_VMLINUX_BTF} format c > ${BPF_OUT}/vmlinux.h.tmp
		COMMAND ${CMAKE_COMMAND} -E rename ${BPF_OUT}/vmlinux.h.tmp ${BPF_OUT}/vmlinux.h
		COMMENT "Generating vmlinux.h from ${TLSREC_VMLINUX_BTF}")
	add_custom_target(vmlinux_h DEPENDS ${BPF_OUT}/vmlinux.h)
endfunction()

# bpf_skeleton(NAME SOURCE [HEADER...]): NAME.bpf.o and NAME.skel.h, and an interface target
# NAME_skel that puts the skeleton on the include path. The object is rebuilt when events.h or one
# of the HEADERs changes.
function(bpf_skeleton name source)
	set(obj ${BPF_OUT}/${name}.bpf.o)
	set(skel ${BPF_OUT}/${name}.skel.h)
	add_custom_command(OUTPUT ${obj}
		COMMAND ${BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_${BPF_TARGET_ARCH}
			-Wall -Werror -I${BPF_OUT} -I${CMAKE_SOURCE_DIR}/bpf
			-c ${source} -o ${obj}
		DEPENDS ${source} ${BPF_OUT}/vmlinux.h ${CMAKE_SOURCE_DIR}/bpf/events.h ${ARGN}
		COMMENT "Building BPF object ${name}.bpf.o")
	add_custom_command(OUTPUT ${skel}
		COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name}_bpf > ${skel}.tmp
		COMMAND ${CMAKE_COMMAND} -E rename ${skel}.tmp ${skel}
		DEPENDS ${obj}
		COMMENT "Generating BPF skeleton ${name}.skel.h")
	add_custom_target(${name}_skel_gen DEPENDS ${skel})
	add_dependencies(${name}_skel_gen vmlinux_h)
	add_library(${name}_skel INTERFACE)
	add_dependencies(${name}_skel ${name}_skel_gen)
	target_include_directories(${name}_skel INTERFACE ${BPF_OUT})
	set_property(GLOBAL APPEND PROPERTY TLSREC_BPF_OBJECTS ${obj})
endfunction()
