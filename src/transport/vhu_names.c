/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The names of the front-end requests the vhost-user specification defines, for log lines an
 * operator reads ("SET_MEM_TABLE", not "5"). Names without the VHOST_USER_ prefix; requests we
 * do not handle are named too, since those are the ones worth spotting in a log.
 */
#include "transport/vhu_priv.h"

static const char *const request_names[] = {
	[1] = "GET_FEATURES",
	[2] = "SET_FEATURES",
	[3] = "SET_OWNER",
	[4] = "RESET_OWNER",
	[5] = "SET_MEM_TABLE",
	[6] = "SET_LOG_BASE",
	[7] = "SET_LOG_FD",
	[8] = "SET_VRING_NUM",
	[9] = "SET_VRING_ADDR",
	[10] = "SET_VRING_BASE",
	[11] = "GET_VRING_BASE",
	[12] = "SET_VRING_KICK",
	[13] = "SET_VRING_CALL",
	[14] = "SET_VRING_ERR",
	[15] = "GET_PROTOCOL_FEATURES",
	[16] = "SET_PROTOCOL_FEATURES",
	[17] = "GET_QUEUE_NUM",
	[18] = "SET_VRING_ENABLE",
	[19] = "SEND_RARP",
	[20] = "NET_SET_MTU",
	[21] = "SET_BACKEND_REQ_FD",
	[22] = "IOTLB_MSG",
	[23] = "SET_VRING_ENDIAN",
	[24] = "GET_CONFIG",
	[25] = "SET_CONFIG",
	[26] = "CREATE_CRYPTO_SESSION",
	[27] = "CLOSE_CRYPTO_SESSION",
	[28] = "POSTCOPY_ADVISE",
	[29] = "POSTCOPY_LISTEN",
	[30] = "POSTCOPY_END",
	[31] = "GET_INFLIGHT_FD",
	[32] = "SET_INFLIGHT_FD",
	[33] = "GPU_SET_SOCKET",
	[34] = "RESET_DEVICE",
	[35] = "VRING_KICK",
	[36] = "GET_MAX_MEM_SLOTS",
	[37] = "ADD_MEM_REG",
	[38] = "REM_MEM_REG",
	[39] = "SET_STATUS",
	[40] = "GET_STATUS",
	[41] = "GET_SHARED_OBJECT",
	[42] = "SET_DEVICE_STATE_FD",
	[43] = "CHECK_DEVICE_STATE",
	[44] = "GET_SHMEM_CONFIG",
};

const char *vhu_request_name(uint32_t request)
{
	if (request < ARRAY_SIZE(request_names) && request_names[request])
		return request_names[request];
	return "UNKNOWN";
}
