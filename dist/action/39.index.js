export const id = 39;
export const ids = [39];
export const modules = {

/***/ 9039:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   loadBytesParser: () => (/* binding */ loadBytesParser)
/* harmony export */ });
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(6760);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_path__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var libpg_query_wasm_libpg_query_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(3995);
/* harmony import */ var libpg_query_wasm_libpg_query_js__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(libpg_query_wasm_libpg_query_js__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var _wasm_load_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(6786);

// libpg-query's WASM module itself (the factory its own API is built on), not its API: see below.


async function loadBytesParser() {
    const dir = await (0,_wasm_load_js__WEBPACK_IMPORTED_MODULE_2__/* .prepareWasmLoad */ .g)();
    const wasm = (await libpg_query_wasm_libpg_query_js__WEBPACK_IMPORTED_MODULE_1___default()(dir ? { locateFile: (file) => (0,node_path__WEBPACK_IMPORTED_MODULE_0__.join)(dir, file) } : {}));
    const decoder = new TextDecoder();
    /** Calls `read` with the JSON of `sql`'s tree while it is in the module's memory. */
    const withTree = (sql, read) => {
        const input = wasm._malloc(sql.length + 1);
        if (!input)
            throw new Error('The SQL parser is out of memory');
        let result = 0;
        try {
            wasm.HEAPU8.set(sql, input);
            wasm.HEAPU8[input + sql.length] = 0;
            result = wasm._wasm_parse_query_raw(input);
            if (!result)
                throw new Error('Failed to parse query: memory allocation failed');
            const tree = wasm.getValue(result, 'i32');
            const error = wasm.getValue(result + 8, 'i32');
            if (error) {
                const messageAt = wasm.getValue(error, 'i32');
                const message = messageAt ? wasm.UTF8ToString(messageAt) : 'Unknown error';
                const cursor = wasm.getValue(error + 16, 'i32');
                throw Object.assign(new Error(message), {
                    sqlDetails: { message, cursorPosition: cursor > 0 ? cursor - 1 : 0 },
                });
            }
            if (!tree)
                throw new Error('No parse tree generated');
            // The memory may have grown during the parse: its current view.
            const heap = wasm.HEAPU8;
            return read(Buffer.from(heap.buffer, heap.byteOffset + tree, heap.indexOf(0, tree) - tree));
        }
        finally {
            wasm._free(input);
            if (result)
                wasm._wasm_free_parse_result(result);
        }
    };
    return {
        parseToJson: (sql, keep) => withTree(sql, (json) => decoder.decode(keep ? keep(json) : json)),
        parseToJsonBytes: (sql, keep) => withTree(sql, (json) => {
            const kept = keep ? keep(json) : json;
            // The module's memory (or a slice of a shared pool) is copied out; a whole array is not.
            const owned = kept.buffer !== json.buffer && kept.byteOffset === 0 && kept.byteLength === kept.buffer.byteLength;
            return owned ? kept : new Uint8Array(kept);
        }),
    };
}


/***/ })

};
