import { createRequire as __WEBPACK_EXTERNAL_createRequire } from "module";
/******/ var __webpack_modules__ = ({

/***/ 995:
/***/ ((module, __unused_webpack_exports, __nccwpck_require__) => {

var PgQueryModule=(()=>{var _scriptName=globalThis.document?.currentScript?.src;return async function(moduleArg={}){var Module=moduleArg;var ENVIRONMENT_IS_WEB=!!globalThis.window;var ENVIRONMENT_IS_WORKER=!!globalThis.WorkerGlobalScope;var ENVIRONMENT_IS_NODE=globalThis.process?.versions?.node&&globalThis.process?.type!="renderer";var programArgs=[];var thisProgram="./this.program";var quit_=(status,toThrow)=>{throw toThrow};if(typeof __filename!="undefined"){_scriptName=__filename}else if(ENVIRONMENT_IS_WORKER){_scriptName=self.location.href}var scriptDirectory="";function locateFile(path){if(Module["locateFile"]){return Module["locateFile"](path,scriptDirectory)}return scriptDirectory+path}var readAsync,readBinary;if(ENVIRONMENT_IS_NODE){var fs=__nccwpck_require__(24);scriptDirectory=__dirname+"/";readBinary=filename=>{filename=isFileURI(filename)?new URL(filename):filename;var ret=fs.readFileSync(filename);return ret};readAsync=async(filename,binary=true)=>{filename=isFileURI(filename)?new URL(filename):filename;var ret=fs.readFileSync(filename,binary?undefined:"utf8");return ret};if(process.argv.length>1){thisProgram=process.argv[1].replace(/\\/g,"/")}programArgs=process.argv.slice(2);quit_=(status,toThrow)=>{process.exitCode=status;throw toThrow}}else if(ENVIRONMENT_IS_WEB||ENVIRONMENT_IS_WORKER){try{scriptDirectory=new URL(".",_scriptName).href}catch{}{if(ENVIRONMENT_IS_WORKER){readBinary=url=>{var xhr=new XMLHttpRequest;xhr.open("GET",url,false);xhr.responseType="arraybuffer";xhr.send(null);return new Uint8Array(xhr.response)}}readAsync=async url=>{var response=await fetch(url,{credentials:"same-origin"});if(response.ok){return response.arrayBuffer()}throw new Error(response.status+" : "+response.url)}}}else{}var out=console.log.bind(console);var err=console.error.bind(console);var wasmBinary;var ABORT=false;var EXITSTATUS;var isFileURI=filename=>filename.startsWith("file://");class EmscriptenEH{}class EmscriptenSjLj extends EmscriptenEH{}var runtimeInitialized=false;function getMemoryBuffer(){return wasmMemory.buffer}function updateMemoryViews(){if(HEAP8?.buffer?.resizable)return;var b=getMemoryBuffer();HEAP8=new Int8Array(b);HEAP16=new Int16Array(b);Module["HEAPU8"]=HEAPU8=new Uint8Array(b);HEAPU16=new Uint16Array(b);HEAP32=new Int32Array(b);Module["HEAPU32"]=HEAPU32=new Uint32Array(b);HEAPF32=new Float32Array(b);HEAPF64=new Float64Array(b);HEAP64=new BigInt64Array(b);HEAPU64=new BigUint64Array(b)}function preRun(){var preRun=Module["preRun"];if(preRun){if(typeof preRun=="function")preRun=[preRun];onPreRuns.push(...preRun)}callRuntimeCallbacks(onPreRuns)}function initRuntime(){runtimeInitialized=true;if(!Module["noFSInit"]&&!FS.initialized)FS.init();TTY.init();wasmExports["A"]();FS.ignorePermissions=false}function postRun(){var postRun=Module["postRun"];if(postRun){if(typeof postRun=="function")postRun=[postRun];onPostRuns.push(...postRun)}callRuntimeCallbacks(onPostRuns)}function abort(what){Module["onAbort"]?.(what);what=`Aborted(${what})`;err(what);ABORT=true;what+=". Build with -sASSERTIONS for more info.";var e=new WebAssembly.RuntimeError(what);throw e}var wasmBinaryFile;function findWasmBinary(){return locateFile("libpg-query.wasm")}function getBinarySync(file){if(readBinary){return readBinary(file)}throw"both async and sync fetching of the wasm failed"}async function getWasmBinary(binaryFile){if(!wasmBinary){try{var response=await readAsync(binaryFile);return new Uint8Array(response)}catch{}}return getBinarySync(binaryFile)}async function instantiateArrayBuffer(binaryFile,imports){try{var binary=await getWasmBinary(binaryFile);var instance=await WebAssembly.instantiate(binary,imports);return instance}catch(reason){err(`failed to asynchronously prepare wasm: ${reason}`);abort(reason)}}async function instantiateAsync(binary,binaryFile,imports){if(!binary&&!ENVIRONMENT_IS_NODE){try{var response=fetch(binaryFile,{credentials:"same-origin"});var instantiationResult=await WebAssembly.instantiateStreaming(response,imports);return instantiationResult}catch(reason){err(`wasm streaming compile failed: ${reason}`);err("falling back to ArrayBuffer instantiation")}}return instantiateArrayBuffer(binaryFile,imports)}function getWasmImports(){var imports={a:wasmImports};return imports}async function createWasm(){function receiveInstance(instance){wasmExports=instance.exports;assignWasmExports(wasmExports);updateMemoryViews();return wasmExports}function receiveInstantiationResult(result){return receiveInstance(result["instance"])}var info=getWasmImports();var instantiateWasm=Module["instantiateWasm"];if(instantiateWasm){return new Promise(resolve=>{instantiateWasm(info,inst=>resolve(receiveInstance(inst)))})}wasmBinaryFile??=findWasmBinary();var result=await instantiateAsync(wasmBinary,wasmBinaryFile,info);var exports=receiveInstantiationResult(result);return exports}class ExitStatus{name="ExitStatus";constructor(status){this.message=`Program terminated with exit(${status})`;this.status=status}}var HEAP16;var HEAP32;var HEAP64;var HEAP8;var HEAPF32;var HEAPF64;var HEAPU16;var HEAPU32;var HEAPU64;var HEAPU8;var callRuntimeCallbacks=callbacks=>{while(callbacks.length>0){callbacks.shift()(Module)}};var onPostRuns=[];var onPreRuns=[];function getValue(ptr,type="i8"){if(type.endsWith("*"))type="*";switch(type){case"i1":return HEAP8[ptr];case"i8":return HEAP8[ptr];case"i16":return HEAP16[ptr>>1];case"i32":return HEAP32[ptr>>2];case"i64":return HEAP64[ptr>>3];case"float":return HEAPF32[ptr>>2];case"double":return HEAPF64[ptr>>3];case"*":return HEAPU32[ptr>>2];default:abort(`invalid type for getValue: ${type}`)}}var noExitRuntime=true;var stackRestore=val=>__emscripten_stack_restore(val);var stackSave=()=>_emscripten_stack_get_current();var UTF8Decoder=globalThis.TextDecoder&&new TextDecoder;var findStringEnd=(heapOrArray,idx,maxBytesToRead,ignoreNul)=>{var maxIdx=idx+maxBytesToRead;if(ignoreNul)return maxIdx;while(heapOrArray[idx]&&!(idx>=maxIdx))++idx;return idx};var UTF8ArrayToString=(heapOrArray,idx=0,maxBytesToRead,ignoreNul)=>{var endPtr=findStringEnd(heapOrArray,idx,maxBytesToRead,ignoreNul);if(endPtr-idx>16&&heapOrArray.buffer&&UTF8Decoder){return UTF8Decoder.decode(heapOrArray.subarray(idx,endPtr))}var str="";while(idx<endPtr){var u0=heapOrArray[idx++];if(!(u0&128)){str+=String.fromCharCode(u0);continue}var u1=heapOrArray[idx++]&63;if((u0&224)==192){str+=String.fromCharCode((u0&31)<<6|u1);continue}var u2=heapOrArray[idx++]&63;if((u0&240)==224){u0=(u0&15)<<12|u1<<6|u2}else{u0=(u0&7)<<18|u1<<12|u2<<6|heapOrArray[idx++]&63}if(u0<65536){str+=String.fromCharCode(u0)}else{var ch=u0-65536;str+=String.fromCharCode(55296|ch>>10,56320|ch&1023)}}return str};var UTF8ToString=(ptr,maxBytesToRead,ignoreNul)=>ptr?UTF8ArrayToString(HEAPU8,ptr,maxBytesToRead,ignoreNul):"";var ___assert_fail=(condition,filename,line,func)=>abort(`Assertion failed: ${UTF8ToString(condition)}, at: `+[filename?UTF8ToString(filename):"unknown filename",line,func?UTF8ToString(func):"unknown function"]);var __abort_js=()=>abort("");var runtimeKeepaliveCounter=0;var __emscripten_runtime_keepalive_clear=()=>{noExitRuntime=false;runtimeKeepaliveCounter=0};var __emscripten_throw_longjmp=()=>{throw new EmscriptenSjLj};var timers={};var handleException=e=>{if(e instanceof ExitStatus||e=="unwind"){return EXITSTATUS}quit_(1,e)};var keepRuntimeAlive=()=>noExitRuntime||runtimeKeepaliveCounter>0;var _proc_exit=code=>{EXITSTATUS=code;if(!keepRuntimeAlive()){Module["onExit"]?.(code);ABORT=true}quit_(code,new ExitStatus(code))};var exitJS=(status,implicit)=>{EXITSTATUS=status;_proc_exit(status)};var _exit=exitJS;var maybeExit=()=>{if(!keepRuntimeAlive()){try{_exit(EXITSTATUS)}catch(e){handleException(e)}}};var callUserCallback=func=>{if(ABORT){return}try{return func()}catch(e){handleException(e)}finally{maybeExit()}};var _emscripten_get_now=()=>performance.now();var __setitimer_js=(which,timeout_ms)=>{if(timers[which]){clearTimeout(timers[which].id);delete timers[which]}if(!timeout_ms)return 0;var id=setTimeout(()=>{delete timers[which];callUserCallback(()=>__emscripten_timeout(which,_emscripten_get_now()))},timeout_ms);timers[which]={id,timeout_ms};return 0};var getHeapMax=()=>1073741824;var alignMemory=(size,alignment)=>Math.ceil(size/alignment)*alignment;var growMemory=size=>{var oldHeapSize=wasmMemory.buffer.byteLength;var pages=(size-oldHeapSize+65535)/65536|0;try{wasmMemory.grow(pages);updateMemoryViews();return 1}catch(e){}};var _emscripten_resize_heap=requestedSize=>{var oldSize=HEAPU8.length;requestedSize>>>=0;var maxHeapSize=getHeapMax();if(requestedSize>maxHeapSize){return false}for(var cutDown=1;cutDown<=4;cutDown*=2){var overGrownHeapSize=oldSize*(1+.2/cutDown);overGrownHeapSize=Math.min(overGrownHeapSize,requestedSize+100663296);var newSize=Math.min(maxHeapSize,alignMemory(Math.max(requestedSize,overGrownHeapSize),65536));var replacement=growMemory(newSize);if(replacement){return true}}return false};var PATH={isAbs:path=>path.charAt(0)==="/",splitPath:filename=>{var splitPathRe=/^(\/?|)([\s\S]*?)((?:\.{1,2}|[^\/]+?|)(\.[^.\/]*|))(?:[\/]*)$/;return splitPathRe.exec(filename).slice(1)},normalizeArray:(parts,allowAboveRoot)=>{var up=0;for(var i=parts.length-1;i>=0;i--){var last=parts[i];if(last==="."){parts.splice(i,1)}else if(last===".."){parts.splice(i,1);up++}else if(up){parts.splice(i,1);up--}}if(allowAboveRoot){for(;up;up--){parts.unshift("..")}}return parts},normalize:path=>{var isAbsolute=PATH.isAbs(path),trailingSlash=path.slice(-1)==="/";path=PATH.normalizeArray(path.split("/").filter(p=>!!p),!isAbsolute).join("/");if(!path&&!isAbsolute){path="."}if(path&&trailingSlash){path+="/"}return(isAbsolute?"/":"")+path},dirname:path=>{var result=PATH.splitPath(path),root=result[0],dir=result[1];if(!root&&!dir){return"."}if(dir){dir=dir.slice(0,-1)}return root+dir},basename:path=>path&&path.match(/([^\/]+|\/)\/*$/)[1],join:(...paths)=>PATH.normalize(paths.join("/")),join2:(l,r)=>PATH.normalize(l+"/"+r)};var initRandomFill=()=>{if(ENVIRONMENT_IS_NODE){var nodeCrypto=__nccwpck_require__(598);return view=>(nodeCrypto.randomFillSync(view),0)}return view=>(crypto.getRandomValues(view),0)};var randomFill=view=>(randomFill=initRandomFill())(view);var PATH_FS={resolve:(...args)=>{var resolvedPath="",resolvedAbsolute=false;for(var i=args.length-1;i>=-1&&!resolvedAbsolute;i--){var path=i>=0?args[i]:FS.cwd();if(typeof path!="string"){throw new TypeError("Arguments to path.resolve must be strings")}else if(!path){return""}resolvedPath=path+"/"+resolvedPath;resolvedAbsolute=PATH.isAbs(path)}resolvedPath=PATH.normalizeArray(resolvedPath.split("/").filter(p=>!!p),!resolvedAbsolute).join("/");return(resolvedAbsolute?"/":"")+resolvedPath||"."},relative:(from,to)=>{from=PATH_FS.resolve(from).slice(1);to=PATH_FS.resolve(to).slice(1);function trim(arr){var start=0;for(;start<arr.length;start++){if(arr[start]!=="")break}var end=arr.length-1;for(;end>=0;end--){if(arr[end]!=="")break}if(start>end)return[];return arr.slice(start,end-start+1)}var fromParts=trim(from.split("/"));var toParts=trim(to.split("/"));var length=Math.min(fromParts.length,toParts.length);var samePartsLength=length;for(var i=0;i<length;i++){if(fromParts[i]!==toParts[i]){samePartsLength=i;break}}var outputParts=[];for(var i=samePartsLength;i<fromParts.length;i++){outputParts.push("..")}outputParts=outputParts.concat(toParts.slice(samePartsLength));return outputParts.join("/")}};var FS_stdin_getChar_buffer=[];var lengthBytesUTF8=str=>{var len=0;for(var i=0;i<str.length;++i){var c=str.charCodeAt(i);if(c<=127){len++}else if(c<=2047){len+=2}else if(c>=55296&&c<=57343){len+=4;++i}else{len+=3}}return len};var stringToUTF8Array=(str,heap,outIdx,maxBytesToWrite)=>{if(!(maxBytesToWrite>0))return 0;var startIdx=outIdx;var endIdx=outIdx+maxBytesToWrite-1;for(var i=0;i<str.length;++i){var u=str.codePointAt(i);if(u<=127){if(outIdx>=endIdx)break;heap[outIdx++]=u}else if(u<=2047){if(outIdx+1>=endIdx)break;heap[outIdx++]=192|u>>6;heap[outIdx++]=128|u&63}else if(u<=65535){if(outIdx+2>=endIdx)break;heap[outIdx++]=224|u>>12;heap[outIdx++]=128|u>>6&63;heap[outIdx++]=128|u&63}else{if(outIdx+3>=endIdx)break;heap[outIdx++]=240|u>>18;heap[outIdx++]=128|u>>12&63;heap[outIdx++]=128|u>>6&63;heap[outIdx++]=128|u&63;i++}}heap[outIdx]=0;return outIdx-startIdx};var intArrayFromString=(stringy,dontAddNull,length)=>{var len=length>0?length:lengthBytesUTF8(stringy)+1;var u8array=new Array(len);var numBytesWritten=stringToUTF8Array(stringy,u8array,0,u8array.length);if(dontAddNull)u8array.length=numBytesWritten;return u8array};var FS_stdin_getChar=()=>{if(!FS_stdin_getChar_buffer.length){var result=null;if(ENVIRONMENT_IS_NODE){var BUFSIZE=256;var buf=Buffer.alloc(BUFSIZE);var bytesRead=0;var fd=process.stdin.fd;try{bytesRead=fs.readSync(fd,buf,0,BUFSIZE)}catch(e){if(e.toString().includes("EOF"))bytesRead=0;else throw e}if(bytesRead>0){result=buf.slice(0,bytesRead).toString("utf-8")}}else if(globalThis.window?.prompt){result=window.prompt("Input: ");if(result!==null){result+="\n"}}else{}if(!result){return null}FS_stdin_getChar_buffer=intArrayFromString(result,true)}return FS_stdin_getChar_buffer.shift()};var TTY={ttys:[],init(){},shutdown(){},register(dev,ops){TTY.ttys[dev]={input:[],output:[],ops};FS.registerDevice(dev,TTY.stream_ops)},stream_ops:{open(stream){var tty=TTY.ttys[stream.node.rdev];if(!tty){throw new FS.ErrnoError(43)}stream.tty=tty;stream.seekable=false},close(stream){stream.tty.ops.fsync(stream.tty)},fsync(stream){stream.tty.ops.fsync(stream.tty)},read(stream,buffer,offset,length,pos){if(!stream.tty||!stream.tty.ops.get_char){throw new FS.ErrnoError(60)}var bytesRead=0;for(var i=0;i<length;i++){var result;try{result=stream.tty.ops.get_char(stream.tty)}catch(e){throw new FS.ErrnoError(29)}if(result===undefined&&bytesRead===0){throw new FS.ErrnoError(6)}if(result===null||result===undefined)break;bytesRead++;buffer[offset+i]=result}if(bytesRead){stream.node.atime=Date.now()}return bytesRead},write(stream,buffer,offset,length,pos){if(!stream.tty||!stream.tty.ops.put_char){throw new FS.ErrnoError(60)}try{for(var i=0;i<length;i++){stream.tty.ops.put_char(stream.tty,buffer[offset+i])}}catch(e){throw new FS.ErrnoError(29)}if(length){stream.node.mtime=stream.node.ctime=Date.now()}return i}},default_tty_ops:{get_char(tty){return FS_stdin_getChar()},put_char(tty,val){if(val===null||val===10){out(UTF8ArrayToString(tty.output));tty.output=[]}else{if(val!=0)tty.output.push(val)}},fsync(tty){if(tty.output?.length>0){out(UTF8ArrayToString(tty.output));tty.output=[]}},ioctl_tcgets(tty){return{c_iflag:25856,c_oflag:5,c_cflag:191,c_lflag:35387,c_cc:[3,28,127,21,4,0,1,0,17,19,26,0,18,15,23,22,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}},ioctl_tcsets(tty,optional_actions,data){return 0},ioctl_tiocgwinsz(tty){return[24,80]}},default_tty1_ops:{put_char(tty,val){if(val===null||val===10){err(UTF8ArrayToString(tty.output));tty.output=[]}else{if(val!=0)tty.output.push(val)}},fsync(tty){if(tty.output?.length>0){err(UTF8ArrayToString(tty.output));tty.output=[]}}}};var mmapAlloc=size=>{abort()};var MEMFS={ops_table:null,mount(mount){return MEMFS.createNode(null,"/",16895,0)},createNode(parent,name,mode,dev){if(FS.isBlkdev(mode)||FS.isFIFO(mode)){throw new FS.ErrnoError(63)}MEMFS.ops_table||={dir:{node:{getattr:MEMFS.node_ops.getattr,setattr:MEMFS.node_ops.setattr,lookup:MEMFS.node_ops.lookup,mknod:MEMFS.node_ops.mknod,rename:MEMFS.node_ops.rename,unlink:MEMFS.node_ops.unlink,rmdir:MEMFS.node_ops.rmdir,readdir:MEMFS.node_ops.readdir,symlink:MEMFS.node_ops.symlink},stream:{llseek:MEMFS.stream_ops.llseek}},file:{node:{getattr:MEMFS.node_ops.getattr,setattr:MEMFS.node_ops.setattr},stream:{llseek:MEMFS.stream_ops.llseek,read:MEMFS.stream_ops.read,write:MEMFS.stream_ops.write,mmap:MEMFS.stream_ops.mmap,msync:MEMFS.stream_ops.msync}},link:{node:{getattr:MEMFS.node_ops.getattr,setattr:MEMFS.node_ops.setattr,readlink:MEMFS.node_ops.readlink},stream:{}},chrdev:{node:{getattr:MEMFS.node_ops.getattr,setattr:MEMFS.node_ops.setattr},stream:FS.chrdev_stream_ops}};var node=FS.createNode(parent,name,mode,dev);if(FS.isDir(node.mode)){node.node_ops=MEMFS.ops_table.dir.node;node.stream_ops=MEMFS.ops_table.dir.stream;node.contents={}}else if(FS.isFile(node.mode)){node.node_ops=MEMFS.ops_table.file.node;node.stream_ops=MEMFS.ops_table.file.stream;node.usedBytes=0;node.contents=MEMFS.emptyFileContents??=new Uint8Array(0)}else if(FS.isLink(node.mode)){node.node_ops=MEMFS.ops_table.link.node;node.stream_ops=MEMFS.ops_table.link.stream}else if(FS.isChrdev(node.mode)){node.node_ops=MEMFS.ops_table.chrdev.node;node.stream_ops=MEMFS.ops_table.chrdev.stream}node.atime=node.mtime=node.ctime=Date.now();if(parent){parent.contents[name]=node;parent.atime=parent.mtime=parent.ctime=node.atime}return node},getFileDataAsTypedArray(node){return node.contents.subarray(0,node.usedBytes)},expandFileStorage(node,newCapacity){var prevCapacity=node.contents.length;if(prevCapacity>=newCapacity)return;var CAPACITY_DOUBLING_MAX=1024*1024;newCapacity=Math.max(newCapacity,prevCapacity*(prevCapacity<CAPACITY_DOUBLING_MAX?2:1.125)>>>0);if(prevCapacity)newCapacity=Math.max(newCapacity,256);var oldContents=MEMFS.getFileDataAsTypedArray(node);node.contents=new Uint8Array(newCapacity);node.contents.set(oldContents)},resizeFileStorage(node,newSize){if(node.usedBytes==newSize)return;var oldContents=node.contents;node.contents=new Uint8Array(newSize);node.contents.set(oldContents.subarray(0,Math.min(newSize,node.usedBytes)));node.usedBytes=newSize},node_ops:{getattr(node){var attr={};attr.dev=FS.isChrdev(node.mode)?node.id:1;attr.ino=node.id;attr.mode=node.mode;attr.nlink=1;attr.uid=0;attr.gid=0;attr.rdev=node.rdev;if(FS.isDir(node.mode)){attr.size=4096}else if(FS.isFile(node.mode)){attr.size=node.usedBytes}else if(FS.isLink(node.mode)){attr.size=node.link.length}else{attr.size=0}attr.atime=new Date(node.atime);attr.mtime=new Date(node.mtime);attr.ctime=new Date(node.ctime);attr.blksize=4096;attr.blocks=Math.ceil(attr.size/attr.blksize);return attr},setattr(node,attr){for(const key of["mode","atime","mtime","ctime"]){if(attr[key]!=null){node[key]=attr[key]}}if(attr.size!==undefined){MEMFS.resizeFileStorage(node,attr.size)}},lookup(parent,name){if(!MEMFS.doesNotExistError){MEMFS.doesNotExistError=new FS.ErrnoError(44);MEMFS.doesNotExistError.stack="<generic error, no stack>"}throw MEMFS.doesNotExistError},mknod(parent,name,mode,dev){return MEMFS.createNode(parent,name,mode,dev)},rename(old_node,new_dir,new_name){var new_node;try{new_node=FS.lookupNode(new_dir,new_name)}catch(e){}if(new_node){if(FS.isDir(old_node.mode)){for(var i in new_node.contents){throw new FS.ErrnoError(55)}}FS.hashRemoveNode(new_node)}delete old_node.parent.contents[old_node.name];new_dir.contents[new_name]=old_node;old_node.name=new_name;new_dir.ctime=new_dir.mtime=old_node.parent.ctime=old_node.parent.mtime=Date.now()},unlink(parent,name){delete parent.contents[name];parent.ctime=parent.mtime=Date.now()},rmdir(parent,name){var node=FS.lookupNode(parent,name);for(var i in node.contents){throw new FS.ErrnoError(55)}delete parent.contents[name];parent.ctime=parent.mtime=Date.now()},readdir(node){return[".","..",...Object.keys(node.contents)]},symlink(parent,newname,oldpath){var node=MEMFS.createNode(parent,newname,511|40960,0);node.link=oldpath;return node},readlink(node){if(!FS.isLink(node.mode)){throw new FS.ErrnoError(28)}return node.link}},stream_ops:{read(stream,buffer,offset,length,position){var contents=stream.node.contents;if(position>=stream.node.usedBytes)return 0;var size=Math.min(stream.node.usedBytes-position,length);buffer.set(contents.subarray(position,position+size),offset);return size},write(stream,buffer,offset,length,position,canOwn){if(buffer.buffer===HEAP8.buffer){canOwn=false}if(!length)return 0;var node=stream.node;node.mtime=node.ctime=Date.now();if(canOwn){node.contents=buffer.subarray(offset,offset+length);node.usedBytes=length}else if(node.usedBytes===0&&position===0){node.contents=buffer.slice(offset,offset+length);node.usedBytes=length}else{MEMFS.expandFileStorage(node,position+length);node.contents.set(buffer.subarray(offset,offset+length),position);node.usedBytes=Math.max(node.usedBytes,position+length)}return length},llseek(stream,offset,whence){var position=offset;if(whence===1){position+=stream.position}else if(whence===2){if(FS.isFile(stream.node.mode)){position+=stream.node.usedBytes}}if(position<0){throw new FS.ErrnoError(28)}return position},mmap(stream,length,position,prot,flags){if(!FS.isFile(stream.node.mode)){throw new FS.ErrnoError(43)}var ptr;var allocated;var contents=stream.node.contents;if(!(flags&2)&&contents.buffer===HEAP8.buffer){allocated=false;ptr=contents.byteOffset}else{allocated=true;ptr=mmapAlloc(length);if(!ptr){throw new FS.ErrnoError(48)}if(contents){if(position>0||position+length<contents.length){if(contents.subarray){contents=contents.subarray(position,position+length)}else{contents=Array.prototype.slice.call(contents,position,position+length)}}HEAP8.set(contents,ptr)}}return{ptr,allocated}},msync(stream,buffer,offset,length,mmapFlags){MEMFS.stream_ops.write(stream,buffer,0,length,offset,false);return 0}}};var FS_modeStringToFlags=str=>{if(typeof str!="string")return str;var flagModes={r:0,"r+":2,w:512|64|1,"w+":512|64|2,a:1024|64|1,"a+":1024|64|2};var flags=flagModes[str];if(typeof flags=="undefined"){throw new Error(`Unknown file open mode: ${str}`)}return flags};var FS_fileDataToTypedArray=data=>{if(typeof data=="string"){data=intArrayFromString(data,true)}if(!data.subarray){data=new Uint8Array(data)}return data};var FS_getMode=(canRead,canWrite)=>{var mode=0;if(canRead)mode|=292|73;if(canWrite)mode|=146;return mode};var asyncLoad=async url=>{var arrayBuffer=await readAsync(url);return new Uint8Array(arrayBuffer)};var FS_createDataFile=(...args)=>FS.createDataFile(...args);var getUniqueRunDependency=id=>id;var dependenciesPromise=null;var resolveRunDependencies=async()=>dependenciesPromise;var runDependencies=0;var dependenciesPromiseResolve=null;var removeRunDependency=id=>{runDependencies--;Module["monitorRunDependencies"]?.(runDependencies);if(!runDependencies){dependenciesPromiseResolve()}};var addRunDependency=id=>{if(!runDependencies){dependenciesPromise=new Promise(resolve=>dependenciesPromiseResolve=resolve)}runDependencies++;Module["monitorRunDependencies"]?.(runDependencies)};var preloadPlugins=[];var FS_handledByPreloadPlugin=async(byteArray,fullname)=>{if(typeof Browser!="undefined")Browser.init();for(var plugin of preloadPlugins){if(plugin["canHandle"](fullname)){return plugin["handle"](byteArray,fullname)}}return byteArray};var FS_preloadFile=async(parent,name,url,canRead,canWrite,dontCreateFile,canOwn,preFinish)=>{var fullname=name?PATH_FS.resolve(PATH.join2(parent,name)):parent;var dep=getUniqueRunDependency(`cp ${fullname}`);addRunDependency(dep);try{var byteArray=url;if(typeof url=="string"){byteArray=await asyncLoad(url)}byteArray=await FS_handledByPreloadPlugin(byteArray,fullname);preFinish?.();if(!dontCreateFile){FS_createDataFile(parent,name,byteArray,canRead,canWrite,canOwn)}}finally{removeRunDependency(dep)}};var FS_createPreloadedFile=(parent,name,url,canRead,canWrite,onload,onerror,dontCreateFile,canOwn,preFinish)=>{FS_preloadFile(parent,name,url,canRead,canWrite,dontCreateFile,canOwn,preFinish).then(onload).catch(onerror)};var FS={root:null,mounts:[],devices:{},streams:[],nextInode:1,nameTable:null,currentPath:"/",initialized:false,ignorePermissions:true,filesystems:null,syncFSRequests:0,ErrnoError:class{name="ErrnoError";constructor(errno){this.errno=errno}},FSStream:class{shared={};get object(){return this.node}set object(val){this.node=val}get isRead(){return(this.flags&2097155)!==1}get isWrite(){return(this.flags&2097155)!==0}get isAppend(){return this.flags&1024}get flags(){return this.shared.flags}set flags(val){this.shared.flags=val}get position(){return this.shared.position}set position(val){this.shared.position=val}},FSNode:class{node_ops={};stream_ops={};readMode=292|73;writeMode=146;mounted=null;constructor(parent,name,mode,rdev){if(!parent){parent=this}this.parent=parent;this.mount=parent.mount;this.id=FS.nextInode++;this.name=name;this.mode=mode;this.rdev=rdev;this.atime=this.mtime=this.ctime=Date.now()}get read(){return(this.mode&this.readMode)===this.readMode}set read(val){val?this.mode|=this.readMode:this.mode&=~this.readMode}get write(){return(this.mode&this.writeMode)===this.writeMode}set write(val){val?this.mode|=this.writeMode:this.mode&=~this.writeMode}get isFolder(){return FS.isDir(this.mode)}get isDevice(){return FS.isChrdev(this.mode)}addListener(cb,exclusive=false){var entry={cb,exclusive};var listeners=this.listeners??=new Set;listeners.add(entry);return{listeners,entry}}notifyListeners(flags){if(!this.listeners)return;var excl;for(var entry of this.listeners){if(entry.exclusive)(excl||=[]).push(entry);else entry.cb(flags)}if(excl){var i=(this.exclTurn||0)%excl.length;this.exclTurn=i+1;excl[i].cb(flags)}}},lookupPath(path,opts={}){if(!path){throw new FS.ErrnoError(44)}opts.follow_mount??=true;if(!PATH.isAbs(path)){path=FS.cwd()+"/"+path}linkloop:for(var nlinks=0;nlinks<40;nlinks++){var parts=path.split("/").filter(p=>!!p);var current=FS.root;var current_path="/";for(var i=0;i<parts.length;i++){var islast=i===parts.length-1;if(islast&&opts.parent){break}if(parts[i]==="."){continue}if(parts[i]===".."){current_path=PATH.dirname(current_path);if(FS.isRoot(current)){path=current_path+"/"+parts.slice(i+1).join("/");nlinks--;continue linkloop}else{current=current.parent}continue}current_path=PATH.join2(current_path,parts[i]);try{current=FS.lookupNode(current,parts[i])}catch(e){if(e?.errno===44&&islast&&opts.noent_okay){return{path:current_path}}throw e}if(FS.isMountpoint(current)&&(!islast||opts.follow_mount)){current=current.mounted.root}if(FS.isLink(current.mode)&&(!islast||opts.follow)){if(!current.node_ops.readlink){throw new FS.ErrnoError(52)}var link=current.node_ops.readlink(current);if(!PATH.isAbs(link)){link=PATH.dirname(current_path)+"/"+link}path=link+"/"+parts.slice(i+1).join("/");continue linkloop}}return{path:current_path,node:current}}throw new FS.ErrnoError(32)},getPath(node){var path;while(true){if(FS.isRoot(node)){var mount=node.mount.mountpoint;if(!path)return mount;return mount[mount.length-1]!=="/"?`${mount}/${path}`:mount+path}path=path?`${node.name}/${path}`:node.name;node=node.parent}},hashName(parentid,name){var hash=0;for(var i=0;i<name.length;i++){hash=(hash<<5)-hash+name.charCodeAt(i)|0}return(parentid+hash>>>0)%FS.nameTable.length},hashAddNode(node){var hash=FS.hashName(node.parent.id,node.name);node.name_next=FS.nameTable[hash];FS.nameTable[hash]=node},hashRemoveNode(node){var hash=FS.hashName(node.parent.id,node.name);if(FS.nameTable[hash]===node){FS.nameTable[hash]=node.name_next}else{var current=FS.nameTable[hash];while(current){if(current.name_next===node){current.name_next=node.name_next;break}current=current.name_next}}},lookupNode(parent,name){var errCode=FS.mayLookup(parent);if(errCode){throw new FS.ErrnoError(errCode)}var hash=FS.hashName(parent.id,name);for(var node=FS.nameTable[hash];node;node=node.name_next){var nodeName=node.name;if(node.parent.id===parent.id&&nodeName===name){return node}}return FS.lookup(parent,name)},createNode(parent,name,mode,rdev){var node=new FS.FSNode(parent,name,mode,rdev);FS.hashAddNode(node);return node},destroyNode(node){FS.hashRemoveNode(node)},isRoot(node){return node===node.parent},isMountpoint(node){return!!node.mounted},isFile(mode){return(mode&61440)===32768},isDir(mode){return(mode&61440)===16384},isLink(mode){return(mode&61440)===40960},isChrdev(mode){return(mode&61440)===8192},isBlkdev(mode){return(mode&61440)===24576},isFIFO(mode){return(mode&61440)===4096},isSocket(mode){return(mode&49152)===49152},flagsToPermissionString(flag){var perms=["r","w","rw"][flag&3];if(flag&512){perms+="w"}return perms},nodePermissions(node,perms){if(FS.ignorePermissions){return 0}if(perms.includes("r")&&!(node.mode&292)){return 2}if(perms.includes("w")&&!(node.mode&146)){return 2}if(perms.includes("x")&&!(node.mode&73)){return 2}return 0},mayLookup(dir){if(!FS.isDir(dir.mode))return 54;var errCode=FS.nodePermissions(dir,"x");if(errCode)return errCode;if(!dir.node_ops.lookup)return 2;return 0},mayCreate(dir,name){if(!FS.isDir(dir.mode)){return 54}try{var node=FS.lookupNode(dir,name);return 20}catch(e){}return FS.nodePermissions(dir,"wx")},mayDelete(dir,name,isdir){var node;try{node=FS.lookupNode(dir,name)}catch(e){return e.errno}var errCode=FS.nodePermissions(dir,"wx");if(errCode){return errCode}if(isdir){if(!FS.isDir(node.mode)){return 54}if(FS.isRoot(node)||FS.getPath(node)===FS.cwd()){return 10}}else if(FS.isDir(node.mode)){return 31}return 0},mayOpen(node,flags){if(!node){return 44}if(FS.isLink(node.mode)){return 32}var mode=FS.flagsToPermissionString(flags);if(FS.isDir(node.mode)){if(mode!=="r"||flags&(512|64)){return 31}}return FS.nodePermissions(node,mode)},checkOpExists(op,err){if(!op){throw new FS.ErrnoError(err)}return op},MAX_OPEN_FDS:4096,nextfd(){for(var fd=0;fd<=FS.MAX_OPEN_FDS;fd++){if(!FS.streams[fd]){return fd}}throw new FS.ErrnoError(33)},getStreamChecked(fd){var stream=FS.getStream(fd);if(!stream){throw new FS.ErrnoError(8)}return stream},getStream:fd=>FS.streams[fd],createStream(stream,fd=-1){stream=Object.assign(new FS.FSStream,stream);if(fd==-1){fd=FS.nextfd()}stream.fd=fd;FS.streams[fd]=stream;return stream},closeStream(fd){FS.streams[fd]=null},dupStream(origStream,fd=-1){var stream=FS.createStream(origStream,fd);stream.stream_ops?.dup?.(stream);return stream},doSetAttr(stream,node,attr){var setattr=stream?.stream_ops.setattr;var arg=setattr?stream:node;setattr??=node.node_ops.setattr;FS.checkOpExists(setattr,63);try{setattr(arg,attr)}catch(e){if(e instanceof RangeError){throw new FS.ErrnoError(22)}throw e}},chrdev_stream_ops:{open(stream){var device=FS.getDevice(stream.node.rdev);stream.stream_ops=device.stream_ops;stream.stream_ops.open?.(stream)},llseek(){throw new FS.ErrnoError(70)}},major:dev=>dev>>8,minor:dev=>dev&255,makedev:(ma,mi)=>ma<<8|mi,registerDevice(dev,ops){FS.devices[dev]={stream_ops:ops}},getDevice:dev=>FS.devices[dev],getMounts(mount){var mounts=[];var check=[mount];while(check.length){var m=check.pop();mounts.push(m);check.push(...m.mounts)}return mounts},syncfs(populate,callback){if(typeof populate=="function"){callback=populate;populate=false}FS.syncFSRequests++;if(FS.syncFSRequests>1){err(`warning: ${FS.syncFSRequests} FS.syncfs operations in flight at once, probably just doing extra work`)}var mounts=FS.getMounts(FS.root.mount);var completed=0;function doCallback(errCode){FS.syncFSRequests--;return callback(errCode)}function done(errCode){if(errCode){if(!done.errored){done.errored=true;return doCallback(errCode)}return}if(++completed>=mounts.length){doCallback(null)}}for(var mount of mounts){if(mount.type.syncfs){mount.type.syncfs(mount,populate,done)}else{done(null)}}},mount(type,opts,mountpoint){var root=mountpoint==="/";var pseudo=!mountpoint;var node;if(root&&FS.root){throw new FS.ErrnoError(10)}else if(!root&&!pseudo){var lookup=FS.lookupPath(mountpoint,{follow_mount:false});mountpoint=lookup.path;node=lookup.node;if(FS.isMountpoint(node)){throw new FS.ErrnoError(10)}if(!FS.isDir(node.mode)){throw new FS.ErrnoError(54)}}var mount={type,opts,mountpoint,mounts:[]};var mountRoot=type.mount(mount);mountRoot.mount=mount;mount.root=mountRoot;if(root){FS.root=mountRoot}else if(node){node.mounted=mount;if(node.mount){node.mount.mounts.push(mount)}}return mountRoot},unmount(mountpoint){var lookup=FS.lookupPath(mountpoint,{follow_mount:false});if(!FS.isMountpoint(lookup.node)){throw new FS.ErrnoError(28)}var node=lookup.node;var mount=node.mounted;var mounts=FS.getMounts(mount);for(var[hash,current]of Object.entries(FS.nameTable)){while(current){var next=current.name_next;if(mounts.includes(current.mount)){FS.destroyNode(current)}current=next}}node.mounted=null;var idx=node.mount.mounts.indexOf(mount);node.mount.mounts.splice(idx,1)},lookup(parent,name){return parent.node_ops.lookup(parent,name)},mknod(path,mode,dev){var lookup=FS.lookupPath(path,{parent:true});var parent=lookup.node;var name=PATH.basename(path);if(!name){throw new FS.ErrnoError(28)}if(name==="."||name===".."){throw new FS.ErrnoError(20)}var errCode=FS.mayCreate(parent,name);if(errCode){throw new FS.ErrnoError(errCode)}if(!parent.node_ops.mknod){throw new FS.ErrnoError(63)}return parent.node_ops.mknod(parent,name,mode,dev)},statfs(path){return FS.statfsNode(FS.lookupPath(path,{follow:true}).node)},statfsStream(stream){return FS.statfsNode(stream.node)},statfsNode(node){var rtn={bsize:4096,frsize:4096,blocks:1e6,bfree:5e5,bavail:5e5,files:FS.nextInode,ffree:FS.nextInode-1,fsid:42,flags:2,namelen:255};if(node.node_ops.statfs){Object.assign(rtn,node.node_ops.statfs(node.mount.opts.root))}return rtn},create(path,mode=438){mode&=4095;mode|=32768;return FS.mknod(path,mode,0)},mkdir(path,mode=511){mode&=511|512;mode|=16384;return FS.mknod(path,mode,0)},mkdirTree(path,mode){var dirs=path.split("/");var d="";for(var dir of dirs){if(!dir)continue;if(d||PATH.isAbs(path))d+="/";d+=dir;try{FS.mkdir(d,mode)}catch(e){if(e.errno!=20)throw e}}},mkdev(path,mode,dev){if(typeof dev=="undefined"){dev=mode;mode=438}mode|=8192;return FS.mknod(path,mode,dev)},symlink(oldpath,newpath){if(!PATH_FS.resolve(oldpath)){throw new FS.ErrnoError(44)}var lookup=FS.lookupPath(newpath,{parent:true});var parent=lookup.node;if(!parent){throw new FS.ErrnoError(44)}var newname=PATH.basename(newpath);var errCode=FS.mayCreate(parent,newname);if(errCode){throw new FS.ErrnoError(errCode)}if(!parent.node_ops.symlink){throw new FS.ErrnoError(63)}return parent.node_ops.symlink(parent,newname,oldpath)},link(oldpath,newpath,flags){var lookup=FS.lookupPath(newpath,{parent:true});var parent=lookup.node;if(!parent){throw new FS.ErrnoError(44)}var newname=PATH.basename(newpath);var errCode=FS.mayCreate(parent,newname);if(errCode){throw new FS.ErrnoError(errCode)}if(!parent.node_ops.link){throw new FS.ErrnoError(34)}return parent.node_ops.link(parent,newname,oldpath,flags)},rename(old_path,new_path){var old_dirname=PATH.dirname(old_path);var new_dirname=PATH.dirname(new_path);var old_name=PATH.basename(old_path);var new_name=PATH.basename(new_path);var lookup,old_dir,new_dir;lookup=FS.lookupPath(old_path,{parent:true});old_dir=lookup.node;lookup=FS.lookupPath(new_path,{parent:true});new_dir=lookup.node;if(!old_dir||!new_dir)throw new FS.ErrnoError(44);if(old_dir.mount!==new_dir.mount){throw new FS.ErrnoError(75)}var old_node=FS.lookupNode(old_dir,old_name);var relative=PATH_FS.relative(old_path,new_dirname);if(relative.charAt(0)!=="."){throw new FS.ErrnoError(28)}relative=PATH_FS.relative(new_path,old_dirname);if(relative.charAt(0)!=="."){throw new FS.ErrnoError(55)}var new_node;try{new_node=FS.lookupNode(new_dir,new_name)}catch(e){}if(old_node===new_node){return}var isdir=FS.isDir(old_node.mode);var errCode=FS.mayDelete(old_dir,old_name,isdir);if(errCode){throw new FS.ErrnoError(errCode)}errCode=new_node?FS.mayDelete(new_dir,new_name,isdir):FS.mayCreate(new_dir,new_name);if(errCode){throw new FS.ErrnoError(errCode)}if(!old_dir.node_ops.rename){throw new FS.ErrnoError(63)}if(FS.isMountpoint(old_node)||new_node&&FS.isMountpoint(new_node)){throw new FS.ErrnoError(10)}if(new_dir!==old_dir){errCode=FS.nodePermissions(old_dir,"w");if(errCode){throw new FS.ErrnoError(errCode)}}FS.hashRemoveNode(old_node);try{old_dir.node_ops.rename(old_node,new_dir,new_name);old_node.parent=new_dir}catch(e){throw e}finally{FS.hashAddNode(old_node)}},rmdir(path){var lookup=FS.lookupPath(path,{parent:true});var parent=lookup.node;var name=PATH.basename(path);var node=FS.lookupNode(parent,name);var errCode=FS.mayDelete(parent,name,true);if(errCode){throw new FS.ErrnoError(errCode)}if(!parent.node_ops.rmdir){throw new FS.ErrnoError(63)}if(FS.isMountpoint(node)){throw new FS.ErrnoError(10)}parent.node_ops.rmdir(parent,name);FS.destroyNode(node)},readdir(path){var lookup=FS.lookupPath(path,{follow:true});var node=lookup.node;var readdir=FS.checkOpExists(node.node_ops.readdir,54);return readdir(node)},unlink(path){var lookup=FS.lookupPath(path,{parent:true});var parent=lookup.node;if(!parent){throw new FS.ErrnoError(44)}var name=PATH.basename(path);var node=FS.lookupNode(parent,name);var errCode=FS.mayDelete(parent,name,false);if(errCode){throw new FS.ErrnoError(errCode)}if(!parent.node_ops.unlink){throw new FS.ErrnoError(63)}if(FS.isMountpoint(node)){throw new FS.ErrnoError(10)}parent.node_ops.unlink(parent,name);FS.destroyNode(node)},readlink(path){var lookup=FS.lookupPath(path);var link=lookup.node;if(!link){throw new FS.ErrnoError(44)}if(!link.node_ops.readlink){throw new FS.ErrnoError(28)}return link.node_ops.readlink(link)},stat(path,dontFollow){var lookup=FS.lookupPath(path,{follow:!dontFollow});var node=lookup.node;var getattr=FS.checkOpExists(node.node_ops.getattr,63);return getattr(node)},fstat(fd){var stream=FS.getStreamChecked(fd);var node=stream.node;var getattr=stream.stream_ops.getattr;var arg=getattr?stream:node;getattr??=node.node_ops.getattr;FS.checkOpExists(getattr,63);return getattr(arg)},lstat(path){return FS.stat(path,true)},doChmod(stream,node,mode,dontFollow){FS.doSetAttr(stream,node,{mode:mode&4095|node.mode&~4095,ctime:Date.now(),dontFollow})},chmod(path,mode,dontFollow){var node;if(typeof path=="string"){var lookup=FS.lookupPath(path,{follow:!dontFollow});node=lookup.node}else{node=path}FS.doChmod(null,node,mode,dontFollow)},lchmod(path,mode){FS.chmod(path,mode,true)},fchmod(fd,mode){var stream=FS.getStreamChecked(fd);FS.doChmod(stream,stream.node,mode,false)},doChown(stream,node,dontFollow){FS.doSetAttr(stream,node,{timestamp:Date.now(),dontFollow})},chown(path,uid,gid,dontFollow){var node;if(typeof path=="string"){var lookup=FS.lookupPath(path,{follow:!dontFollow});node=lookup.node}else{node=path}FS.doChown(null,node,dontFollow)},lchown(path,uid,gid){FS.chown(path,uid,gid,true)},fchown(fd,uid,gid){var stream=FS.getStreamChecked(fd);FS.doChown(stream,stream.node,false)},doTruncate(stream,node,len){if(FS.isDir(node.mode)){throw new FS.ErrnoError(31)}if(!FS.isFile(node.mode)){throw new FS.ErrnoError(28)}var errCode=FS.nodePermissions(node,"w");if(errCode){throw new FS.ErrnoError(errCode)}FS.doSetAttr(stream,node,{size:len,timestamp:Date.now()})},truncate(path,len){if(len<0){throw new FS.ErrnoError(28)}var node;if(typeof path=="string"){var lookup=FS.lookupPath(path,{follow:true});node=lookup.node}else{node=path}FS.doTruncate(null,node,len)},ftruncate(fd,len){var stream=FS.getStreamChecked(fd);if(len<0||(stream.flags&2097155)===0){throw new FS.ErrnoError(28)}FS.doTruncate(stream,stream.node,len)},utime(path,atime,mtime,dontFollow){var lookup=FS.lookupPath(path,{follow:!dontFollow});FS.doSetAttr(null,lookup.node,{atime,mtime,dontFollow})},open(path,flags,mode=438){if(path===""){throw new FS.ErrnoError(44)}flags=FS_modeStringToFlags(flags);if(flags&64){mode=mode&4095|32768}else{mode=0}var node;var isDirPath;if(typeof path=="object"){node=path}else{isDirPath=path.endsWith("/");var lookup=FS.lookupPath(path,{follow:!(flags&131072),noent_okay:true});node=lookup.node;path=lookup.path}var created=false;if(flags&64){if(node){if(flags&128){throw new FS.ErrnoError(20)}}else if(isDirPath){throw new FS.ErrnoError(31)}else{node=FS.mknod(path,mode|511,0);created=true}}if(!node){throw new FS.ErrnoError(44)}if(FS.isChrdev(node.mode)){flags&=~512}if(flags&65536&&!FS.isDir(node.mode)){throw new FS.ErrnoError(54)}if(!created){var errCode=FS.mayOpen(node,flags);if(errCode){throw new FS.ErrnoError(errCode)}}if(flags&512&&!created){FS.truncate(node,0)}flags&=~(128|512|131072);var stream=FS.createStream({node,path:FS.getPath(node),flags,seekable:true,position:0,stream_ops:node.stream_ops,ungotten:[],error:false});if(stream.stream_ops.open){stream.stream_ops.open(stream)}if(created){FS.chmod(node,mode&511)}return stream},close(stream){if(FS.isClosed(stream)){throw new FS.ErrnoError(8)}if(stream.getdents)stream.getdents=null;stream.node?.notifyListeners(32);try{if(stream.stream_ops.close){stream.stream_ops.close(stream)}}catch(e){throw e}finally{FS.closeStream(stream.fd)}stream.fd=null},isClosed(stream){return stream.fd===null},llseek(stream,offset,whence){if(FS.isClosed(stream)){throw new FS.ErrnoError(8)}if(!stream.seekable||!stream.stream_ops.llseek){throw new FS.ErrnoError(70)}if(whence!=0&&whence!=1&&whence!=2){throw new FS.ErrnoError(28)}stream.position=stream.stream_ops.llseek(stream,offset,whence);stream.ungotten=[];return stream.position},read(stream,buffer,offset,length,position){if(length<0||position<0){throw new FS.ErrnoError(28)}if(FS.isClosed(stream)){throw new FS.ErrnoError(8)}if((stream.flags&2097155)===1){throw new FS.ErrnoError(8)}if(FS.isDir(stream.node.mode)){throw new FS.ErrnoError(31)}if(!stream.stream_ops.read){throw new FS.ErrnoError(28)}var seeking=typeof position!="undefined";if(!seeking){position=stream.position}else if(!stream.seekable){throw new FS.ErrnoError(70)}var bytesRead=stream.stream_ops.read(stream,buffer,offset,length,position);if(!seeking)stream.position+=bytesRead;return bytesRead},write(stream,buffer,offset,length,position,canOwn){if(length<0||position<0){throw new FS.ErrnoError(28)}if(FS.isClosed(stream)){throw new FS.ErrnoError(8)}if((stream.flags&2097155)===0){throw new FS.ErrnoError(8)}if(FS.isDir(stream.node.mode)){throw new FS.ErrnoError(31)}if(!stream.stream_ops.write){throw new FS.ErrnoError(28)}if(stream.seekable&&stream.flags&1024){FS.llseek(stream,0,2)}var seeking=typeof position!="undefined";if(!seeking){position=stream.position}else if(!stream.seekable){throw new FS.ErrnoError(70)}var bytesWritten=stream.stream_ops.write(stream,buffer,offset,length,position,canOwn);if(!seeking)stream.position+=bytesWritten;return bytesWritten},mmap(stream,length,position,prot,flags){if((prot&2)!==0&&(flags&2)===0&&(stream.flags&2097155)!==2){throw new FS.ErrnoError(2)}if((stream.flags&2097155)===1){throw new FS.ErrnoError(2)}if(!stream.stream_ops.mmap){throw new FS.ErrnoError(43)}if(!length){throw new FS.ErrnoError(28)}return stream.stream_ops.mmap(stream,length,position,prot,flags)},msync(stream,buffer,offset,length,mmapFlags){if(!stream.stream_ops.msync){return 0}return stream.stream_ops.msync(stream,buffer,offset,length,mmapFlags)},ioctl(stream,cmd,arg){if(!stream.stream_ops.ioctl){throw new FS.ErrnoError(59)}return stream.stream_ops.ioctl(stream,cmd,arg)},readFile(path,opts={}){opts.flags=opts.flags??0;opts.encoding=opts.encoding??"binary";if(opts.encoding!=="utf8"&&opts.encoding!=="binary"){abort(`Invalid encoding type "${opts.encoding}"`)}var stream=FS.open(path,opts.flags);var stat=FS.stat(path);var length=stat.size;var buf=new Uint8Array(length);FS.read(stream,buf,0,length,0);if(opts.encoding==="utf8"){buf=UTF8ArrayToString(buf)}FS.close(stream);return buf},writeFile(path,data,opts={}){opts.flags=opts.flags??577;var stream=FS.open(path,opts.flags,opts.mode);data=FS_fileDataToTypedArray(data);FS.write(stream,data,0,data.byteLength,undefined,opts.canOwn);FS.close(stream)},cwd:()=>FS.currentPath,chdir(path){var lookup=FS.lookupPath(path,{follow:true});if(lookup.node===null){throw new FS.ErrnoError(44)}if(!FS.isDir(lookup.node.mode)){throw new FS.ErrnoError(54)}var errCode=FS.nodePermissions(lookup.node,"x");if(errCode){throw new FS.ErrnoError(errCode)}FS.currentPath=lookup.path},createDefaultDirectories(){FS.mkdir("/tmp");FS.mkdir("/home");FS.mkdir("/home/web_user")},createDefaultDevices(){FS.mkdir("/dev");FS.registerDevice(FS.makedev(1,3),{read:()=>0,write:(stream,buffer,offset,length,pos)=>length,llseek:()=>0});FS.mkdev("/dev/null",FS.makedev(1,3));TTY.register(FS.makedev(5,0),TTY.default_tty_ops);TTY.register(FS.makedev(6,0),TTY.default_tty1_ops);FS.mkdev("/dev/tty",FS.makedev(5,0));FS.mkdev("/dev/tty1",FS.makedev(6,0));var randomBuffer=new Uint8Array(1024),randomLeft=0;var randomByte=()=>{if(randomLeft===0){randomFill(randomBuffer);randomLeft=randomBuffer.byteLength}return randomBuffer[--randomLeft]};FS.createDevice("/dev","random",randomByte);FS.createDevice("/dev","urandom",randomByte);FS.mkdir("/dev/shm");FS.mkdir("/dev/shm/tmp")},createSpecialDirectories(){FS.mkdir("/proc");var proc_self=FS.mkdir("/proc/self");FS.mkdir("/proc/self/fd");FS.mount({mount(){var node=FS.createNode(proc_self,"fd",16895,73);node.stream_ops={llseek:MEMFS.stream_ops.llseek};node.node_ops={lookup(parent,name){var fd=+name;var stream=FS.getStreamChecked(fd);var ret={parent:null,mount:{mountpoint:"fake"},node_ops:{readlink:()=>stream.path},id:fd+1};ret.parent=ret;return ret},readdir(){return Array.from(FS.streams.entries()).filter(([k,v])=>v).map(([k,v])=>k.toString())}};return node}},{},"/proc/self/fd")},createStandardStreams(input,output,error){if(input){FS.createDevice("/dev","stdin",input)}else{FS.symlink("/dev/tty","/dev/stdin")}if(output){FS.createDevice("/dev","stdout",null,output)}else{FS.symlink("/dev/tty","/dev/stdout")}if(error){FS.createDevice("/dev","stderr",null,error)}else{FS.symlink("/dev/tty1","/dev/stderr")}var stdin=FS.open("/dev/stdin",0);var stdout=FS.open("/dev/stdout",1);var stderr=FS.open("/dev/stderr",1)},staticInit(){FS.nameTable=new Array(4096);FS.mount(MEMFS,{},"/");FS.createDefaultDirectories();FS.createDefaultDevices();FS.createSpecialDirectories();FS.filesystems={MEMFS}},init(input,output,error){FS.initialized=true;input??=Module["stdin"];output??=Module["stdout"];error??=Module["stderr"];FS.createStandardStreams(input,output,error)},quit(){FS.initialized=false;for(var stream of FS.streams){if(stream){FS.close(stream)}}},findObject(path,dontResolveLastLink){var ret=FS.analyzePath(path,dontResolveLastLink);if(!ret.exists){return null}return ret.object},analyzePath(path,dontResolveLastLink){try{var lookup=FS.lookupPath(path,{follow:!dontResolveLastLink});path=lookup.path}catch(e){}var ret={isRoot:false,exists:false,error:0,name:null,path:null,object:null,parentExists:false,parentPath:null,parentObject:null};try{var lookup=FS.lookupPath(path,{parent:true});ret.parentExists=true;ret.parentPath=lookup.path;ret.parentObject=lookup.node;ret.name=PATH.basename(path);lookup=FS.lookupPath(path,{follow:!dontResolveLastLink});ret.exists=true;ret.path=lookup.path;ret.object=lookup.node;ret.name=lookup.node.name;ret.isRoot=lookup.path==="/"}catch(e){ret.error=e.errno}return ret},createPath(parent,path,canRead,canWrite){parent=typeof parent=="string"?parent:FS.getPath(parent);var parts=path.split("/").reverse();while(parts.length){var part=parts.pop();if(!part)continue;var current=PATH.join2(parent,part);try{FS.mkdir(current)}catch(e){if(e.errno!=20)throw e}parent=current}return current},createFile(parent,name,properties,canRead,canWrite){var path=PATH.join2(typeof parent=="string"?parent:FS.getPath(parent),name);var mode=FS_getMode(canRead,canWrite);return FS.create(path,mode)},createDataFile(parent,name,data,canRead,canWrite,canOwn){var path=name;if(parent){parent=typeof parent=="string"?parent:FS.getPath(parent);path=name?PATH.join2(parent,name):parent}var mode=FS_getMode(canRead,canWrite);var node=FS.create(path,mode);if(data){data=FS_fileDataToTypedArray(data);FS.chmod(node,mode|146);var stream=FS.open(node,577);FS.write(stream,data,0,data.length,0,canOwn);FS.close(stream);FS.chmod(node,mode)}},createDevice(parent,name,input,output){var path=PATH.join2(typeof parent=="string"?parent:FS.getPath(parent),name);var mode=FS_getMode(!!input,!!output);FS.createDevice.major??=64;var dev=FS.makedev(FS.createDevice.major++,0);FS.registerDevice(dev,{open(stream){stream.seekable=false},close(stream){if(output?.buffer?.length){output(10)}},read(stream,buffer,offset,length,pos){var bytesRead=0;for(var i=0;i<length;i++){var result;try{result=input()}catch(e){throw new FS.ErrnoError(29)}if(result===undefined&&bytesRead===0){throw new FS.ErrnoError(6)}if(result===null||result===undefined)break;bytesRead++;buffer[offset+i]=result}if(bytesRead){stream.node.atime=Date.now()}return bytesRead},write(stream,buffer,offset,length,pos){for(var i=0;i<length;i++){try{output(buffer[offset+i])}catch(e){throw new FS.ErrnoError(29)}}if(length){stream.node.mtime=stream.node.ctime=Date.now()}return i}});return FS.mkdev(path,mode,dev)},forceLoadFile(obj){if(obj.isDevice||obj.isFolder||obj.link||obj.contents)return true;if(globalThis.XMLHttpRequest){abort("Lazy loading should have been performed (contents set) in createLazyFile, but it was not. Lazy loading only works in web workers. Use --embed-file or --preload-file in emcc on the main thread.")}else{try{obj.contents=readBinary(obj.url)}catch(e){throw new FS.ErrnoError(29)}}},createLazyFile(parent,name,url,canRead,canWrite){class LazyUint8Array{lengthKnown=false;chunks=[];get(idx){if(idx>this.length-1||idx<0){return undefined}var chunkOffset=idx%this.chunkSize;var chunkNum=idx/this.chunkSize|0;return this.getter(chunkNum)[chunkOffset]}setDataGetter(getter){this.getter=getter}cacheLength(){var xhr=new XMLHttpRequest;xhr.open("HEAD",url,false);xhr.send(null);if(!(xhr.status>=200&&xhr.status<300||xhr.status===304))abort("Couldn't load "+url+". Status: "+xhr.status);var datalength=Number(xhr.getResponseHeader("Content-length"));var header;var hasByteServing=(header=xhr.getResponseHeader("Accept-Ranges"))&&header==="bytes";var usesGzip=(header=xhr.getResponseHeader("Content-Encoding"))&&header==="gzip";var chunkSize=1024*1024;if(!hasByteServing)chunkSize=datalength;var doXHR=(from,to)=>{if(from>to)abort(`invalid range (${from}, ${to}) or no bytes requested!`);if(to>datalength-1)abort(`only ${datalength} bytes available! programmer error!`);var xhr=new XMLHttpRequest;xhr.open("GET",url,false);if(datalength!==chunkSize)xhr.setRequestHeader("Range","bytes="+from+"-"+to);xhr.responseType="arraybuffer";if(xhr.overrideMimeType){xhr.overrideMimeType("text/plain; charset=x-user-defined")}xhr.send(null);if(!(xhr.status>=200&&xhr.status<300||xhr.status===304))abort("Couldn't load "+url+". Status: "+xhr.status);if(xhr.response!==undefined){return new Uint8Array(xhr.response||[])}return intArrayFromString(xhr.responseText??"",true)};var lazyArray=this;lazyArray.setDataGetter(chunkNum=>{var start=chunkNum*chunkSize;var end=(chunkNum+1)*chunkSize-1;end=Math.min(end,datalength-1);if(typeof lazyArray.chunks[chunkNum]=="undefined"){lazyArray.chunks[chunkNum]=doXHR(start,end)}if(typeof lazyArray.chunks[chunkNum]=="undefined")abort("doXHR failed!");return lazyArray.chunks[chunkNum]});if(usesGzip||!datalength){chunkSize=datalength=1;datalength=this.getter(0).length;chunkSize=datalength;out("LazyFiles on gzip forces download of the whole file when length is accessed")}this._length=datalength;this._chunkSize=chunkSize;this.lengthKnown=true}get length(){if(!this.lengthKnown){this.cacheLength()}return this._length}get chunkSize(){if(!this.lengthKnown){this.cacheLength()}return this._chunkSize}}if(globalThis.XMLHttpRequest){if(!ENVIRONMENT_IS_WORKER)abort("Cannot do synchronous binary XHRs outside webworkers in modern browsers. Use --embed-file or --preload-file in emcc");var lazyArray=new LazyUint8Array;var properties={isDevice:false,contents:lazyArray}}else{var properties={isDevice:false,url}}var node=FS.createFile(parent,name,properties,canRead,canWrite);if(properties.contents){node.contents=properties.contents}else if(properties.url){node.contents=null;node.url=properties.url}Object.defineProperties(node,{usedBytes:{get:function(){return this.contents.length}}});var stream_ops={};for(const[key,fn]of Object.entries(node.stream_ops)){stream_ops[key]=(...args)=>{FS.forceLoadFile(node);return fn(...args)}}function writeChunks(stream,buffer,offset,length,position){var contents=stream.node.contents;if(position>=contents.length)return 0;var size=Math.min(contents.length-position,length);if(contents.slice){for(var i=0;i<size;i++){buffer[offset+i]=contents[position+i]}}else{for(var i=0;i<size;i++){buffer[offset+i]=contents.get(position+i)}}return size}stream_ops.read=(stream,buffer,offset,length,position)=>{FS.forceLoadFile(node);return writeChunks(stream,buffer,offset,length,position)};stream_ops.mmap=(stream,length,position,prot,flags)=>{FS.forceLoadFile(node);var ptr=mmapAlloc(length);if(!ptr){throw new FS.ErrnoError(48)}writeChunks(stream,HEAP8,ptr,length,position);return{ptr,allocated:true}};node.stream_ops=stream_ops;return node}};var SYSCALLS={currentUmask:18,calculateAt(dirfd,path,allowEmpty){if(PATH.isAbs(path)){return path}var dir;if(dirfd===-100){dir=FS.cwd()}else{var dirstream=SYSCALLS.getStreamFromFD(dirfd);dir=dirstream.path}if(path.length==0){if(!allowEmpty){throw new FS.ErrnoError(44)}return dir}return dir+"/"+path},writeStat(buf,stat){HEAPU32[buf>>2]=stat.dev;HEAPU32[buf+4>>2]=stat.mode;HEAPU32[buf+8>>2]=stat.nlink;HEAPU32[buf+12>>2]=stat.uid;HEAPU32[buf+16>>2]=stat.gid;HEAPU32[buf+20>>2]=stat.rdev;HEAP64[buf+24>>3]=BigInt(stat.size);HEAP32[buf+32>>2]=4096;HEAP32[buf+36>>2]=stat.blocks;var atime=stat.atime.getTime();var mtime=stat.mtime.getTime();var ctime=stat.ctime.getTime();HEAP64[buf+40>>3]=BigInt(Math.floor(atime/1e3));HEAPU32[buf+48>>2]=atime%1e3*1e3*1e3;HEAP64[buf+56>>3]=BigInt(Math.floor(mtime/1e3));HEAPU32[buf+64>>2]=mtime%1e3*1e3*1e3;HEAP64[buf+72>>3]=BigInt(Math.floor(ctime/1e3));HEAPU32[buf+80>>2]=ctime%1e3*1e3*1e3;HEAP64[buf+88>>3]=BigInt(stat.ino);return 0},writeStatFs(buf,stats){HEAPU32[buf+4>>2]=stats.bsize;HEAPU32[buf+60>>2]=stats.bsize;HEAP64[buf+8>>3]=BigInt(stats.blocks);HEAP64[buf+16>>3]=BigInt(stats.bfree);HEAP64[buf+24>>3]=BigInt(stats.bavail);HEAP64[buf+32>>3]=BigInt(stats.files);HEAP64[buf+40>>3]=BigInt(stats.ffree);HEAPU32[buf+48>>2]=stats.fsid;HEAPU32[buf+64>>2]=stats.flags;HEAPU32[buf+56>>2]=stats.namelen},doMsync(addr,stream,len,flags,offset){if(!FS.isFile(stream.node.mode)){throw new FS.ErrnoError(43)}if(flags&2){return 0}var buffer=HEAPU8.subarray(addr,addr+len);FS.msync(stream,buffer,offset,len,flags)},getStreamFromFD(fd){var stream=FS.getStreamChecked(fd);return stream},varargs:undefined,getStr(ptr){var ret=UTF8ToString(ptr);return ret}};function _fd_close(fd){try{var stream=SYSCALLS.getStreamFromFD(fd);FS.close(stream);return 0}catch(e){if(typeof FS=="undefined"||!(e.name==="ErrnoError"))throw e;return e.errno}}var doReadv=(stream,iov,iovcnt,offset)=>{var ret=0;for(var i=0;i<iovcnt;i++){var ptr=HEAPU32[iov>>2];var len=HEAPU32[iov+4>>2];iov+=8;try{var curr=FS.read(stream,HEAP8,ptr,len,offset)}catch(e){if(ret>0&&e instanceof FS.ErrnoError&&(e.errno==6||e.errno==6)){break}throw e}if(curr<0)return-1;ret+=curr;if(curr<len)break;if(typeof offset!="undefined"){offset+=curr}}return ret};function _fd_read(fd,iov,iovcnt,pnum){try{var stream=SYSCALLS.getStreamFromFD(fd);var num=doReadv(stream,iov,iovcnt);HEAPU32[pnum>>2]=num;return 0}catch(e){if(typeof FS=="undefined"||!(e.name==="ErrnoError"))throw e;return e.errno}}var INT53_MAX=9007199254740992;var INT53_MIN=-9007199254740992;var bigintToI53Checked=num=>num<INT53_MIN||num>INT53_MAX?NaN:Number(num);function _fd_seek(fd,offset,whence,newOffset){offset=bigintToI53Checked(offset);try{if(isNaN(offset))return 22;var stream=SYSCALLS.getStreamFromFD(fd);FS.llseek(stream,offset,whence);HEAP64[newOffset>>3]=BigInt(stream.position);if(stream.getdents&&offset===0&&whence===0)stream.getdents=null;return 0}catch(e){if(typeof FS=="undefined"||!(e.name==="ErrnoError"))throw e;return e.errno}}var doWritev=(stream,iov,iovcnt,offset)=>{if(iovcnt==1){return FS.write(stream,HEAP8,HEAPU32[iov>>2],HEAPU32[iov+4>>2],offset)}var total=0;for(var i=0,p=iov;i<iovcnt;i++,p+=8){total+=HEAPU32[p+4>>2]}var view=new Uint8Array(total);var voff=0;for(var i=0;i<iovcnt;i++,iov+=8){var ptr=HEAPU32[iov>>2];var len=HEAPU32[iov+4>>2];view.set(HEAPU8.subarray(ptr,ptr+len),voff);voff+=len}return FS.write(stream,view,0,total,offset)};function _fd_write(fd,iov,iovcnt,pnum){try{var stream=SYSCALLS.getStreamFromFD(fd);var num=doWritev(stream,iov,iovcnt);HEAPU32[pnum>>2]=num;return 0}catch(e){if(typeof FS=="undefined"||!(e.name==="ErrnoError"))throw e;return e.errno}}var wasmTableMirror=[];var getWasmTableEntry=funcPtr=>{var func=wasmTableMirror[funcPtr];if(!func){wasmTableMirror[funcPtr]=func=wasmTable.get(funcPtr)}return func};var stringToUTF8=(str,outPtr,maxBytesToWrite)=>stringToUTF8Array(str,HEAPU8,outPtr,maxBytesToWrite);FS.createPreloadedFile=FS_createPreloadedFile;FS.preloadFile=FS_preloadFile;FS.staticInit();{if(Module["noExitRuntime"])noExitRuntime=Module["noExitRuntime"];if(Module["print"])out=Module["print"];if(Module["printErr"])err=Module["printErr"];if(Module["arguments"])programArgs=Module["arguments"];if(Module["thisProgram"])thisProgram=Module["thisProgram"];var preInit=Module["preInit"];if(preInit){if(typeof preInit=="function")Module["preInit"]=preInit=[preInit];while(preInit.length>0){preInit.shift()()}}}Module["getValue"]=getValue;Module["UTF8ToString"]=UTF8ToString;Module["stringToUTF8"]=stringToUTF8;Module["lengthBytesUTF8"]=lengthBytesUTF8;var _wasm_parse_query,_malloc,_free,_wasm_parse_query_raw,_wasm_free_parse_result,_wasm_parse_plpgsql,_wasm_fingerprint,_wasm_normalize_query,_wasm_parse_query_detailed,_wasm_free_detailed_result,_wasm_scan,_wasm_free_string,__emscripten_timeout,_setThrew,__emscripten_stack_restore,_emscripten_stack_get_current,memory,__indirect_function_table,wasmMemory,wasmTable;function assignWasmExports(wasmExports){_wasm_parse_query=Module["_wasm_parse_query"]=wasmExports["B"];_malloc=Module["_malloc"]=wasmExports["C"];_free=Module["_free"]=wasmExports["E"];_wasm_parse_query_raw=Module["_wasm_parse_query_raw"]=wasmExports["F"];_wasm_free_parse_result=Module["_wasm_free_parse_result"]=wasmExports["G"];_wasm_parse_plpgsql=Module["_wasm_parse_plpgsql"]=wasmExports["H"];_wasm_fingerprint=Module["_wasm_fingerprint"]=wasmExports["I"];_wasm_normalize_query=Module["_wasm_normalize_query"]=wasmExports["J"];_wasm_parse_query_detailed=Module["_wasm_parse_query_detailed"]=wasmExports["K"];_wasm_free_detailed_result=Module["_wasm_free_detailed_result"]=wasmExports["L"];_wasm_scan=Module["_wasm_scan"]=wasmExports["M"];_wasm_free_string=Module["_wasm_free_string"]=wasmExports["N"];__emscripten_timeout=wasmExports["O"];_setThrew=wasmExports["P"];__emscripten_stack_restore=wasmExports["Q"];_emscripten_stack_get_current=wasmExports["R"];memory=wasmMemory=wasmExports["z"];__indirect_function_table=wasmTable=wasmExports["D"]}var wasmImports={c:___assert_fail,x:__abort_js,w:__emscripten_runtime_keepalive_clear,p:__emscripten_throw_longjmp,o:__setitimer_js,q:_emscripten_resize_heap,m:_exit,u:_fd_close,r:_fd_read,s:_fd_seek,t:_fd_write,g:invoke_i,b:invoke_ii,a:invoke_iii,d:invoke_iiii,k:invoke_iiiii,l:invoke_ji,e:invoke_v,f:invoke_vi,h:invoke_vii,j:invoke_viii,i:invoke_viiii,y:invoke_viiiii,n:invoke_viiiiiiiiiiiii,v:_proc_exit};function invoke_iii(index,a1,a2){var sp=stackSave();try{return getWasmTableEntry(index)(a1,a2)}catch(e){stackRestore(sp);if(!(e instanceof EmscriptenEH))throw e;_setThrew(1,0)}}function invoke_ii(index,a1){var sp=stackSave();try{return getWasmTableEntry(index)(a1)}catch(e){stackRestore(sp);if(!(e instanceof EmscriptenEH))throw e;_setThrew(1,0)}}function invoke_i(index){var sp=stackSave();try{return getWasmTableEntry(index)()}catch(e){stackRestore(sp);if(!(e instanceof EmscriptenEH))throw e;_setThrew(1,0)}}function invoke_v(index){var sp=stackSave();try{getWasmTableEntry(index)()}catch(e){stackRestore(sp);if(!(e instanceof EmscriptenEH))throw e;_setThrew(1,0)}}function invoke_iiii(index,a1,a2,a3){var sp=stackSave();try{return getWasmTableEntry(index)(a1,a2,a3)}catch(e){stackRestore(sp);if(!(e instanceof EmscriptenEH))throw e;_setThrew(1,0)}}function invoke_viiii(index,a1,a2,a3,a4){var sp=stackSave();try{getWasmTableEntry(index)(a1,a2,a3,a4)}catch(e){stackRestore(sp);if(!(e instanceof EmscriptenEH))throw e;_setThrew(1,0)}}function invoke_viiiiiiiiiiiii(index,a1,a2,a3,a4,a5,a6,a7,a8,a9,a10,a11,a12,a13){var sp=stackSave();try{getWasmTableEntry(index)(a1,a2,a3,a4,a5,a6,a7,a8,a9,a10,a11,a12,a13)}catch(e){stackRestore(sp);if(!(e instanceof EmscriptenEH))throw e;_setThrew(1,0)}}function invoke_iiiii(index,a1,a2,a3,a4){var sp=stackSave();try{return getWasmTableEntry(index)(a1,a2,a3,a4)}catch(e){stackRestore(sp);if(!(e instanceof EmscriptenEH))throw e;_setThrew(1,0)}}function invoke_viii(index,a1,a2,a3){var sp=stackSave();try{getWasmTableEntry(index)(a1,a2,a3)}catch(e){stackRestore(sp);if(!(e instanceof EmscriptenEH))throw e;_setThrew(1,0)}}function invoke_vi(index,a1){var sp=stackSave();try{getWasmTableEntry(index)(a1)}catch(e){stackRestore(sp);if(!(e instanceof EmscriptenEH))throw e;_setThrew(1,0)}}function invoke_vii(index,a1,a2){var sp=stackSave();try{getWasmTableEntry(index)(a1,a2)}catch(e){stackRestore(sp);if(!(e instanceof EmscriptenEH))throw e;_setThrew(1,0)}}function invoke_viiiii(index,a1,a2,a3,a4,a5){var sp=stackSave();try{getWasmTableEntry(index)(a1,a2,a3,a4,a5)}catch(e){stackRestore(sp);if(!(e instanceof EmscriptenEH))throw e;_setThrew(1,0)}}function invoke_ji(index,a1){var sp=stackSave();try{return getWasmTableEntry(index)(a1)}catch(e){stackRestore(sp);if(!(e instanceof EmscriptenEH))throw e;_setThrew(1,0);return 0n}}async function run(){preRun();if(runDependencies){await resolveRunDependencies()}var setStatus=Module["setStatus"];if(setStatus){setStatus("Running...");await new Promise(resolve=>setTimeout(resolve,1));setTimeout(setStatus,1,"")}if(ABORT)return;initRuntime();Module["onRuntimeInitialized"]?.();postRun()}var wasmExports;wasmExports=await createWasm();await run();
;return Module}})();if(true){module.exports=PgQueryModule;module.exports["default"]=PgQueryModule}else {}


/***/ }),

/***/ 227:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {

/* harmony export */ __nccwpck_require__.d(__webpack_exports__, {
/* harmony export */   OF: () => (/* binding */ AHEAD_BYTES),
/* harmony export */   Xf: () => (/* binding */ WORKER_MAX_FILE_BYTES),
/* harmony export */   fe: () => (/* binding */ CONSUMED)
/* harmony export */ });
/** What the linter's main thread and its parse worker (parse-ahead.ts, parse-worker.ts) exchange. */
/** The one slot of the shared Int32Array: the file the main thread is linting (the worker waits when it is too far ahead of it). */
const CONSUMED = 0;
/** How much source the worker parses beyond the main thread's file (their JSON is ~6 times that). */
const AHEAD_BYTES = 4 * 1024 * 1024;
/** Larger files are left to the main thread, which parses them piece by piece in bounded memory. */
const WORKER_MAX_FILE_BYTES = 1024 * 1024;


/***/ }),

/***/ 181:
/***/ ((module, __unused_webpack___webpack_exports__, __nccwpck_require__) => {

__nccwpck_require__.a(module, async (__webpack_handle_async_dependencies__, __webpack_async_result__) => { try {
/* harmony import */ var node_worker_threads__WEBPACK_IMPORTED_MODULE_0__ = __nccwpck_require__(919);
/* harmony import */ var node_worker_threads__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__nccwpck_require__.n(node_worker_threads__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var _migrations_parse_pieces_js__WEBPACK_IMPORTED_MODULE_1__ = __nccwpck_require__(435);
/* harmony import */ var _migrations_source_text_js__WEBPACK_IMPORTED_MODULE_5__ = __nccwpck_require__(890);
/* harmony import */ var _migrations_byte_parser_js__WEBPACK_IMPORTED_MODULE_2__ = __nccwpck_require__(423);
/* harmony import */ var _unread_trees_js__WEBPACK_IMPORTED_MODULE_3__ = __nccwpck_require__(726);
/* harmony import */ var _parse_protocol_js__WEBPACK_IMPORTED_MODULE_4__ = __nccwpck_require__(227);
/**
 * The lint parse worker (bundled on its own as dist/lint-worker/index.js; started by
 * parse-ahead.ts). It parses the migration files in order, ahead of the linter on the main
 * thread, with its own copy of the parser and exactly as the main thread would (parseInPieces,
 * piece by piece), and hands back every parse it made as the parser's JSON (its UTF-8 bytes, by
 * transfer): the main thread then only decodes and reads the JSON, and the parsing (the larger part
 * of a lint) runs on a second core.
 */






const shared = new Int32Array(node_worker_threads__WEBPACK_IMPORTED_MODULE_0__.workerData.shared);
const port = node_worker_threads__WEBPACK_IMPORTED_MODULE_0__.parentPort;
// The parser loads while the main thread reads the files; then they come, in one message.
const [parser, input] = await Promise.all([
    (0,_migrations_byte_parser_js__WEBPACK_IMPORTED_MODULE_2__/* .loadBytesParser */ .J)(),
    new Promise((resolve) => port.once('message', resolve)),
]);
// Source bytes before each file: how far ahead of the main thread the worker is.
const before = [0];
for (const file of input.files)
    before.push(before[before.length - 1] + (file.end - file.start));
for (let index = 0; index < input.files.length; index++) {
    waitWhileFarAhead(index);
    const parsed = parseFile(index);
    // The JSON's buffers move to the main thread (transfer): nothing is copied.
    port.postMessage(parsed, parsed.calls.flatMap((call) => (call.json ? [call.json.buffer] : [])));
}
/**
 * Parses up to AHEAD_BYTES of source beyond the file the main thread is linting, at least one
 * file: the JSON of what the main thread has not read yet stays bounded.
 */
function waitWhileFarAhead(next) {
    for (;;) {
        const consumed = Atomics.load(shared, _parse_protocol_js__WEBPACK_IMPORTED_MODULE_4__/* .CONSUMED */ .fe);
        if (next <= consumed + 1 || before[next] - before[consumed] <= _parse_protocol_js__WEBPACK_IMPORTED_MODULE_4__/* .AHEAD_BYTES */ .OF)
            return;
        // Woken when the main thread moves on; the timeout only guards against a missed wake-up.
        Atomics.wait(shared, _parse_protocol_js__WEBPACK_IMPORTED_MODULE_4__/* .CONSUMED */ .fe, consumed, 100);
    }
}
function parseFile(index) {
    const { file, bytes, start, end } = input.files[index];
    // A file this large is parsed piece by piece on the main thread, as without a worker: its
    // whole parse tree at once (~6 times its size as JSON) is what the pieces exist to avoid.
    if (!bytes || end - start > _parse_protocol_js__WEBPACK_IMPORTED_MODULE_4__/* .WORKER_MAX_FILE_BYTES */ .Xf)
        return { index, calls: [], clean: false };
    const calls = [];
    let pieces;
    const source = new _migrations_source_text_js__WEBPACK_IMPORTED_MODULE_5__/* .SourceText */ .D(undefined, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    const record = (call, sql) => {
        try {
            // The trees no rule reads are dropped here, on the worker, not read on the linter's thread.
            const json = parser.parseToJsonBytes(sql, _unread_trees_js__WEBPACK_IMPORTED_MODULE_3__/* .withoutUnreadTrees */ .h);
            calls.push({ ...call, json });
            return { stmts: [] };
        }
        catch (error) {
            const { message, sqlDetails } = error;
            calls.push({ ...call, error: { message, sqlDetails } });
            throw error;
        }
    };
    const recorder = {
        // Cut once, here, and handed over with the parses.
        knownPieces: (from, to) => from === start && to === end && !pieces ? (pieces = [...(0,_migrations_parse_pieces_js__WEBPACK_IMPORTED_MODULE_1__/* .piecesOf */ .X)(source, from, to)]) : undefined,
        // The worker never reads the tree (the main thread does), so nothing more is parsed here.
        parseRange: (text, from, to) => record({ range: [from, to] }, text.bytes.subarray(from, to)),
        parseSync: (sql) => record({ sql }, Buffer.from(sql, 'utf8')),
    };
    try {
        for (const raw of (0,_migrations_parse_pieces_js__WEBPACK_IMPORTED_MODULE_1__/* .parseInPieces */ .w)(recorder, source, start, end, file).stmts)
            void raw;
        return { index, calls, pieces, clean: true };
    }
    catch {
        // A syntax error or a psql feature: the main thread parses what follows it itself (the
        // recorded calls still answer the ones it repeats).
        return { index, calls, clean: false };
    }
}

__webpack_async_result__();
} catch(e) { __webpack_async_result__(e); } }, 1);

/***/ }),

/***/ 726:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {

/* harmony export */ __nccwpck_require__.d(__webpack_exports__, {
/* harmony export */   h: () => (/* binding */ withoutUnreadTrees)
/* harmony export */ });
/* unused harmony export UNREAD_TYPES */
/**
 * Parts of the parse trees no lint rule reads, dropped from the parser's JSON on the lint worker
 * so that the linter's thread does not read them (JSON.parse is its largest cost):
 * - whole statements of types no rule reads beyond their type and place (no rule names them, nor
 *   does the tracking of the release's schema or of its security; the checks every statement
 *   meets read only what classifiedStatements derives, which for these is nothing, and so does
 *   the engine that apply hands these statements to: kept-statements.test.ts). A long
 *   history is full of them: INSERTs of seed data and COMMENTs were a sixth of the bench
 *   history's JSON;
 * - in CREATE TABLE, the expressions of CHECK, DEFAULT and generated-column constraints
 *   (`raw_expr`): the rules read those only in ALTER TABLE (a new column's default, a CHECK added
 *   before SET NOT NULL). They were a tenth of the JSON.
 * It works on the JSON's bytes, as the parser wrote them, before they are decoded: the searches
 * are native, and what is dropped is never decoded.
 */
const UNREAD_TYPES = ['InsertStmt', 'CommentStmt', 'CreateTrigStmt'];
/** By statement type, the key of an object value no rule reads there (one per type). */
const UNREAD_PARTS = { CreateStmt: Buffer.from('"raw_expr":{') };
const STATEMENT_START = Buffer.from('{"stmt":{"');
const NEXT_STATEMENT = Buffer.from(',{"stmt":{"');
const PLACE_KEYS = [Buffer.from(',"stmt_location":'), Buffer.from(',"stmt_len":')];
const CLOSE = Buffer.from('}');
/**
 * The parser's JSON (`{"version":…,"stmts":[{"stmt":{"<Type>":{…}},"stmt_location":…,"stmt_len":…},…]}`)
 * with those parts replaced by `{}`; each statement's type, place and length kept. Found with byte
 * searches: inside the JSON, `"` only delimits keys and strings (a quote in a value is escaped),
 * and only the top-level statements have a "stmt" key, so `,{"stmt":{"` starts the next statement
 * and `,"stmt_location":` / `,"stmt_len":` its place. `json` itself when there is nothing to drop.
 */
function withoutUnreadTrees(json) {
    const kept = [];
    let copied = 0;
    // One pass over the statements; a search inside one is bounded by its end.
    let at = json.indexOf(STATEMENT_START);
    while (at !== -1) {
        const next = json.indexOf(NEXT_STATEMENT, at);
        const end = next === -1 ? json.lastIndexOf(0x5d) : next; // `]`
        const typeStart = at + STATEMENT_START.length;
        const type = json.toString('latin1', typeStart, json.indexOf(0x22, typeStart));
        const part = UNREAD_PARTS[type];
        if (UNREAD_TYPES.includes(type)) {
            // Up to and including the type's key, then an empty tree and the statement's place.
            const open = typeStart + type.length + 2;
            kept.push(json.subarray(copied, open + 1), CLOSE, CLOSE, placeOf(json, at, end));
            copied = end;
        }
        else if (part) {
            const statement = json.subarray(0, end);
            for (let found = statement.indexOf(part, at); found !== -1; found = statement.indexOf(part, copied)) {
                const open = found + part.length - 1;
                kept.push(json.subarray(copied, open + 1));
                copied = closingBrace(json, open);
            }
        }
        at = next === -1 ? -1 : next + 1;
    }
    if (kept.length === 0)
        return json;
    kept.push(json.subarray(copied));
    return Buffer.concat(kept);
}
/** The statement's tail after its tree: `,"stmt_location":…,"stmt_len":…}`, fewer when zero. */
function placeOf(json, start, end) {
    for (const key of PLACE_KEYS) {
        const found = json.lastIndexOf(key, end - 1);
        if (found > start)
            return json.subarray(found, end);
    }
    return CLOSE;
}
/** Index of the `}` that closes the object opened at `open`, skipping strings. */
function closingBrace(json, open) {
    let depth = 0;
    for (let i = open; i < json.length; i++) {
        const c = json[i];
        if (c === 0x22) {
            // A string: to its unescaped closing quote.
            for (i++; i < json.length && json[i] !== 0x22; i++)
                if (json[i] === 0x5c)
                    i++;
        }
        else if (c === 0x7b || c === 0x5b)
            depth++;
        else if ((c === 0x7d || c === 0x5d) && --depth === 0)
            return i;
    }
    throw new Error('The parser JSON ends inside an object');
}


/***/ }),

/***/ 423:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {


// EXPORTS
__nccwpck_require__.d(__webpack_exports__, {
  J: () => (/* binding */ loadBytesParser)
});

;// CONCATENATED MODULE: external "node:path"
const external_node_path_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:path");
// EXTERNAL MODULE: ./node_modules/libpg-query/wasm/libpg-query.js
var libpg_query = __nccwpck_require__(995);
var libpg_query_default = /*#__PURE__*/__nccwpck_require__.n(libpg_query);
// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __nccwpck_require__(24);
;// CONCATENATED MODULE: external "node:url"
const external_node_url_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:url");
;// CONCATENATED MODULE: ./src/migrations/wasm-load.ts



/**
 * What loading libpg-query's WASM module needs first (byte-parser.ts, on the main thread and in
 * the lint worker).
 */
/**
 * V8 compiles WebAssembly with its baseline compiler first and recompiles hot functions with its
 * optimising one in the background. The parser's state machine is one huge function: optimising
 * it takes a core for ~1.8 s (on this project's 2-core machine), far longer than a run parses,
 * so it never pays off; it only takes the CPU from the database server beside us, and Node 24
 * waits for it to finish before the process can exit (+1 s on every apply). These flags are read
 * when a module is compiled, so setting them before the parser's first (and only) compilation is
 * enough; the V8 flags of anything else are untouched. Measured with 500 files: the same parse
 * time, exit right after the work instead of ~1 s later. They stay set (tiering is also decided
 * while the parser runs); the bundle's code cache sets them back at exit (V8_FLAGS_AT_START in
 * src/startup/compile-cache.ts).
 */
const BASELINE_WASM_FLAGS = ['--no-wasm-tier-up', '--no-wasm-dynamic-tiering'];
/** The folder of the bundle's copy of the parser's WASM: the CLI bundle sits in dist/cli/ and shares the action's in dist/. */
function wasmDir() {
    const here = (0,external_node_path_namespaceObject.dirname)((0,external_node_url_namespaceObject.fileURLToPath)(import.meta.url));
    return [here, (0,external_node_path_namespaceObject.dirname)(here)].find((dir) => (0,external_node_fs_.existsSync)((0,external_node_path_namespaceObject.join)(dir, 'libpg-query.wasm')));
}
async function keepWasmOnBaselineTier() {
    // Imported here: node:v8 costs ~1.5 ms to load, and most runs never parse.
    const { setFlagsFromString } = await Promise.resolve(/* import() */).then(__nccwpck_require__.t.bind(__nccwpck_require__, 877, 23));
    for (const flag of BASELINE_WASM_FLAGS)
        setFlagsFromString(flag);
}
/**
 * Sets V8's WASM flags (above) and, inside the ncc bundle, where the module's loader looks for
 * its .wasm: beside `__dirname`, which ESM lacks, so it is pointed at the bundle's folder when the
 * build copied the file there. Returns that folder.
 */
async function prepareWasmLoad() {
    const dir = wasmDir();
    if (dir)
        globalThis.__dirname = dir;
    await keepWasmOnBaselineTier();
    return dir;
}

;// CONCATENATED MODULE: ./src/migrations/byte-parser.ts

// libpg-query's WASM module itself (the factory its own API is built on), not its API: see below.


async function loadBytesParser() {
    const dir = await prepareWasmLoad();
    const wasm = (await libpg_query_default()(dir ? { locateFile: (file) => (0,external_node_path_namespaceObject.join)(dir, file) } : {}));
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


/***/ }),

/***/ 435:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {


// EXPORTS
__nccwpck_require__.d(__webpack_exports__, {
  w: () => (/* binding */ parseInPieces),
  X: () => (/* binding */ piecesOf)
});

;// CONCATENATED MODULE: ./src/errors.ts
/**
 * An error the user can act on: `message` says what happened, `location` where, `hint` what to do.
 * `code` is stable and machine-readable (used in reports and tests).
 */
class GuardError extends Error {
    code;
    options;
    constructor(code, message, options = {}) {
        super(message, { cause: options.cause });
        this.code = code;
        this.options = options;
        this.name = 'GuardError';
    }
    get location() {
        return this.options.location;
    }
    get hint() {
        return this.options.hint;
    }
    /** One line for logs: "file:line:col: message (hint)". */
    describe() {
        return [formatLocation(this.location), this.message, this.hint ? `\n  ${this.hint}` : '']
            .filter(Boolean)
            .join('');
    }
}
/** "file:line:column: " (or "" without a file); takes a SourceLocation or an error detail. */
function formatLocation(location) {
    if (!location?.file)
        return '';
    const parts = [location.file, location.line, location.column].filter((p) => p !== undefined);
    return `${parts.join(':')}: `;
}
function errorMessage(error) {
    if (error instanceof GuardError)
        return error.describe();
    if (error instanceof Error)
        return error.message;
    return String(error);
}

;// CONCATENATED MODULE: ./src/migrations/psql-features.ts

/**
 * Scripts written for psql may use what only psql understands: meta-commands (`\i`, `\set`,
 * `\connect`, …) and the data lines of `COPY … FROM stdin`. The server never sees those, and
 * neither does this tool, which sends SQL statements only: say so at their line instead of
 * reporting a syntax error (or, for a COPY, hanging on input that never comes).
 */
const NOTHING_RUN = 'Nothing has been run.';
/** `COPY … FROM stdin` (or `pstdin`): the server would wait for rows that only psql can send. */
function isCopyFromStdin(nodeType, node) {
    return nodeType === 'CopyStmt' && node.is_from === true && node.filename === undefined && !node.is_program;
}
function copyFromStdinError(file, at) {
    return new GuardError('parse-error', 'COPY … FROM stdin reads its rows from psql (the data lines after the statement); this tool runs SQL statements only and has no such input', {
        location: { file, ...at },
        hint: `Write the rows as INSERT statements (pg_dump --inserts produces them), or load the data in a step of its own outside the migration. ${NOTHING_RUN}`,
    });
}
/**
 * After the parser stopped at `errorByte`: the psql feature that made it stop, as an error
 * naming its line, or undefined for an ordinary syntax error. The parser's position is where the
 * text stopped being SQL, so nothing inside a string or a dollar-quoted body is ever mistaken for
 * a meta-command.
 */
function psqlFeatureError(parser, source, start, errorByte, file) {
    // Rows after a COPY … FROM stdin can look like anything, a `\N` (NULL) or the closing `\.`
    // included: the COPY comes first.
    const copy = copyFromStdinBefore(parser, source, start, errorByte);
    if (copy !== undefined)
        return copyFromStdinError(file, source.position(copy));
    if (source.bytes[errorByte] !== 0x5c)
        return undefined;
    const command = /^\\([A-Za-z_]+|\S)?/.exec(source.slice(errorByte, errorByte + 64))?.[1] ?? '';
    const { message, hint } = describeMetaCommand(command);
    return new GuardError('parse-error', message, {
        location: { file, ...source.position(errorByte) },
        hint: `${hint} ${NOTHING_RUN}`,
    });
}
function describeMetaCommand(command) {
    const name = `\\${command}`;
    const only = 'this tool runs SQL statements only, not psql meta-commands';
    switch (command) {
        case 'i':
        case 'ir':
        case 'include':
        case 'include_relative':
            return {
                message: `${name} includes another file in psql; ${only}`,
                hint: "Inline the included file's statements here, or make that file a migration of its own.",
            };
        case 'set':
        case 'unset':
            return {
                message: `${name} sets a psql variable; ${only}, and :variables are never substituted`,
                hint: `Write the value into the SQL where the variable is used, and remove the ${name} line.`,
            };
        case 'c':
        case 'connect':
            return {
                message: `${name} connects psql to another database; ${only}, and a migration runs on the one database the run targets`,
                hint: 'Remove it; migrate another database with a run of its own (its own database-url).',
            };
        case 'copy':
            return {
                message: `${name} copies data through psql; ${only}`,
                hint: 'Write the rows as INSERT statements.',
            };
        case '.':
            return {
                message: `\\. ends the data of a COPY … FROM stdin in psql; ${only}`,
                hint: 'Write the rows as INSERT statements instead of COPY data.',
            };
        default:
            return {
                message: `${name} is a psql meta-command; ${only}`,
                hint: `Remove it, or do in SQL what ${name} does.`,
            };
    }
}
/** Lines to step back from the error while looking for the statement the COPY data follows. */
const COPY_SEARCH_LINES = 8;
/**
 * The byte offset of a `COPY … FROM stdin` whose data lines the parser stopped in, if any. Every
 * statement before the data parses, so the text up to the line where parsing failed (or a line
 * or so before it, when the data happened to continue a statement) parses and ends with it.
 */
function copyFromStdinBefore(parser, source, start, errorByte) {
    const before = source.slice(start, errorByte);
    // Most syntax errors have no COPY before them: they cost no second parse.
    if (!/\bcopy\b/i.test(before) || !/\bp?stdin\b/i.test(before))
        return undefined;
    let cut = lineStart(source, errorByte);
    for (let tries = 0; tries < COPY_SEARCH_LINES && cut > start; tries++) {
        const text = source.slice(start, cut);
        if (text.trim() === '')
            return undefined;
        let stmts;
        try {
            stmts = parser.parseSync(text).stmts ?? [];
        }
        catch {
            cut = lineStart(source, cut - 1);
            continue;
        }
        for (const raw of stmts) {
            const [nodeType, node] = Object.entries(raw.stmt)[0];
            if (isCopyFromStdin(nodeType, node))
                return start + (raw.stmt_location ?? 0);
        }
        return undefined;
    }
    return undefined;
}
function lineStart(source, byteOffset) {
    return byteOffset <= 0 ? 0 : source.bytes.lastIndexOf(0x0a, byteOffset - 1) + 1;
}

;// CONCATENATED MODULE: ./src/migrations/sql-pieces.ts
/**
 * Cuts SQL into pieces at statement boundaries *before* it is parsed, so that the parser (WASM,
 * whose memory grows to ~65 times its input and never shrinks) is never handed a whole large file:
 * a 50 MB data file made it run out of memory. The boundaries are found by a small lexer that
 * knows every construct of PostgreSQL's scanner (scan.l) that can hide a `;`:
 * - '…' strings ('' escapes; backslashes are plain characters, as with
 *   standard_conforming_strings = on, the only setting the parser knows), B'…', X'…', N'…', U&'…';
 * - E'…' strings (backslash escapes, also in a '…' that continues them after a newline);
 * - "…" identifiers ("" escapes) and U&"…";
 * - $tag$…$tag$ dollar quotes (a `$` inside a word, `a$b$`, belongs to the word; `$1` is a parameter);
 * - -- comments and nested /* … *\/ comments;
 * - parentheses (CREATE RULE … DO (a; b)) and the BEGIN ATOMIC … END body of a SQL-standard
 *   function or procedure, tracked as psql tracks it (psqlscan.l).
 *
 * It cuts only where it is sure: after a `;` outside all of those. Where it is not (a quote that
 * never closes, an unbalanced parenthesis), it makes no further cut, and the rest of the text is
 * one piece, parsed whole as before, so that the parser reports the error.
 */
/**
 * Pieces are about this size. Smaller pieces leave less garbage behind each parse (V8 lets it
 * pile up until a full collection: 256 KB pieces peaked ~25 MB higher on a 100 MB file) and
 * parse no slower; a file under this size is one piece, as before.
 */
const PIECE_BYTES = 16 * 1024;
/**
 * The largest statement the parser is handed. One statement cannot be cut, and parsing it takes
 * ~65 times its size in memory (a 10 MB INSERT: ~750 MB), so a larger one is refused before
 * anything runs rather than crash the parser.
 */
const MAX_STATEMENT_BYTES = 8 * 1024 * 1024;
// Byte classes.
const isSpace = (b) => b === 0x20 || (b >= 0x09 && b <= 0x0d);
const isIdentStart = (b) => (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || b === 0x5f || b >= 0x80;
const isDigit = (b) => b >= 0x30 && b <= 0x39;
const isIdentCont = (b) => isIdentStart(b) || isDigit(b) || b === 0x24;
const isNewline = (b) => b === 0x0a || b === 0x0d;
const QUOTE = 0x27; // '
const DQUOTE = 0x22; // "
const DOLLAR = 0x24;
const SEMI = 0x3b;
const BACKSLASH = 0x5c;
const freshState = () => ({ parens: 0, begins: 0, words: [], wordCount: 0 });
/**
 * The pieces of bytes start..end, in order: each under 2 × `target` bytes, unless it is a single
 * statement (or the unsure rest). Lazily: memory stays bounded whatever the text's size.
 */
function* sqlPieces(bytes, start, end, target = PIECE_BYTES) {
    let pieceStart = start;
    let pieceFirstToken = -1;
    let pieceStatements = 0;
    // The last top-level `;` of the current piece (just after it), and the first token after it.
    let lastCut = -1;
    let tokenAfterCut = -1;
    let state = freshState();
    let i = start;
    const token = (at) => {
        if (pieceFirstToken < 0)
            pieceFirstToken = at;
        if (lastCut >= 0 && tokenAfterCut < 0)
            tokenAfterCut = at;
    };
    /**
     * The statement ending at `at` was counted. When the piece is full, it is handed out; when that
     * statement alone is `target` or larger, the statements before it go first, so that a piece of
     * 2 × `target` or more always holds a single statement.
     */
    function* cutAt(at, final) {
        if (!final && at - pieceStart < target) {
            lastCut = at;
            tokenAfterCut = -1;
            return;
        }
        if (lastCut > pieceStart && at - lastCut >= target) {
            yield piece(pieceStart, lastCut, pieceFirstToken, pieceStatements - 1);
            pieceStart = lastCut;
            pieceFirstToken = tokenAfterCut;
            pieceStatements = 1;
        }
        if (at > pieceStart)
            yield piece(pieceStart, at, pieceFirstToken, pieceStatements);
        pieceStart = at;
        pieceFirstToken = -1;
        pieceStatements = 0;
        lastCut = -1;
        tokenAfterCut = -1;
    }
    function* rest(unclosed) {
        yield { ...piece(pieceStart, end, pieceFirstToken, pieceStatements + 1), unclosed };
    }
    while (i < end) {
        const b = bytes[i];
        if (isSpace(b)) {
            i++;
            continue;
        }
        // Comments (scan.l starts one at `--` or `/*` even inside an operator).
        if (b === 0x2d && bytes[i + 1] === 0x2d && i + 1 < end) {
            i = lineEnd(bytes, i, end);
            continue;
        }
        if (b === 0x2f && bytes[i + 1] === 0x2a && i + 1 < end) {
            const close = blockCommentEnd(bytes, i, end);
            if (close < 0)
                return yield* rest({ what: 'a /* comment', at: i });
            i = close;
            continue;
        }
        token(i);
        if (b === SEMI) {
            i++;
            if (state.parens > 0 || state.begins > 0)
                continue;
            pieceStatements++;
            state = freshState();
            yield* cutAt(i, false);
            continue;
        }
        if (b === QUOTE) {
            const close = quotedEnd(bytes, i, end, QUOTE, false);
            if (close < 0)
                return yield* rest({ what: 'a quoted string', at: i });
            i = close;
            continue;
        }
        if (b === DQUOTE) {
            const close = quotedEnd(bytes, i, end, DQUOTE, false);
            if (close < 0)
                return yield* rest({ what: 'a quoted identifier', at: i });
            i = close;
            continue;
        }
        if (b === DOLLAR) {
            const tagEnd = dollarTagEnd(bytes, i, end);
            if (tagEnd < 0) {
                i++;
                while (i < end && isDigit(bytes[i]))
                    i++; // a parameter ($1) or a lone `$`
                continue;
            }
            const close = indexOfBytes(bytes, bytes.subarray(i, tagEnd), tagEnd, end);
            if (close < 0)
                return yield* rest({ what: 'a dollar-quoted string', at: i });
            i = close + (tagEnd - i);
            continue;
        }
        if (isIdentStart(b)) {
            const wordStart = i;
            while (i < end && isIdentCont(bytes[i]))
                i++;
            // E'…' (a token of its own, not the end of a longer word): backslashes escape.
            if (i - wordStart === 1 && (b === 0x45 || b === 0x65) && bytes[i] === QUOTE && i < end) {
                const close = extendedStringEnd(bytes, i, end);
                if (close < 0)
                    return yield* rest({ what: "an E'…' string", at: wordStart });
                i = close;
                continue;
            }
            noteWord(state, bytes, wordStart, i);
            continue;
        }
        if (isDigit(b)) {
            // A number (with any trailing junk the parser will refuse): never absorbs a `$`.
            i++;
            while (i < end && (isIdentStart(bytes[i]) || isDigit(bytes[i]) || bytes[i] === 0x2e))
                i++;
            continue;
        }
        if (b === 0x28)
            state.parens++;
        else if (b === 0x29 && state.parens > 0)
            state.parens--;
        i++;
    }
    // The text after the last `;` (a last statement without one, or only comments).
    if (pieceFirstToken >= 0 && (lastCut < 0 || tokenAfterCut >= 0))
        pieceStatements++;
    yield* cutAt(end, true);
}
function piece(start, end, firstToken, statements) {
    return { start, end, firstToken, statements };
}
/** psqlscan.l's heuristic for `;` inside BEGIN ATOMIC … END (CASE … END nests inside it). */
function noteWord(state, bytes, start, end) {
    const word = end - start <= 9 ? asciiLower(bytes, start, end) : '';
    if (state.wordCount < 4 && ['create', 'or', 'replace', 'function', 'procedure'].includes(word)) {
        state.words[state.wordCount] = word[0];
    }
    state.wordCount++;
    const [w0, w1, w2, w3] = state.words;
    const routine = w0 === 'c' && (w1 === 'f' || w1 === 'p' || (w1 === 'o' && w2 === 'r' && (w3 === 'f' || w3 === 'p')));
    if (!routine || state.parens > 0)
        return;
    if (word === 'begin')
        state.begins++;
    else if (word === 'case' && state.begins > 0)
        state.begins++;
    else if (word === 'end' && state.begins > 0)
        state.begins--;
}
function asciiLower(bytes, start, end) {
    let s = '';
    for (let i = start; i < end; i++)
        s += String.fromCharCode(bytes[i] | 0x20);
    return s;
}
function lineEnd(bytes, i, end) {
    while (i < end && !isNewline(bytes[i]))
        i++;
    return i;
}
/** Just past the `*\/` closing the (nested) comment that opens at i; -1 when it never closes. */
function blockCommentEnd(bytes, i, end) {
    let depth = 0;
    while (i < end) {
        if (bytes[i] === 0x2f && bytes[i + 1] === 0x2a && i + 1 < end) {
            depth++;
            i += 2;
        }
        else if (bytes[i] === 0x2a && bytes[i + 1] === 0x2f && i + 1 < end) {
            depth--;
            i += 2;
            if (depth === 0)
                return i;
        }
        else
            i++;
    }
    return -1;
}
/** Just past the quote closing the one at i (doubled quotes are escapes); -1 when none. */
function quotedEnd(bytes, i, end, quote, backslashes) {
    i++;
    while (i < end) {
        const b = bytes[i];
        if (backslashes && b === BACKSLASH)
            i += 2;
        else if (b === quote) {
            if (bytes[i + 1] === quote && i + 1 < end)
                i += 2;
            else
                return i + 1;
        }
        else
            i++;
    }
    return -1;
}
/**
 * An E'…' string from its quote at i, with its continuations: scan.l keeps lexing in the same
 * mode when the string is followed by whitespace holding a newline (and -- comments) and a quote.
 */
function extendedStringEnd(bytes, i, end) {
    for (;;) {
        const close = quotedEnd(bytes, i, end, QUOTE, true);
        if (close < 0 || close > end)
            return -1;
        const next = continuedQuote(bytes, close, end);
        if (next < 0)
            return close;
        i = next;
    }
}
/**
 * The position of a quote continuing the string that ended at i, or -1 (scan.l: quotecontinue):
 * spaces, a newline, any whitespace, then a quote. A comment in between ends the string (as
 * libpg-query's scanner does).
 */
function continuedQuote(bytes, i, end) {
    while (i < end && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0c))
        i++;
    if (i >= end || !isNewline(bytes[i]))
        return -1;
    while (i < end && isSpace(bytes[i]))
        i++;
    return i < end && bytes[i] === QUOTE ? i : -1;
}
/** Just past the `$tag$` delimiter opening at i, or -1 when the `$` opens none. */
function dollarTagEnd(bytes, i, end) {
    let j = i + 1;
    if (j < end && bytes[j] !== DOLLAR) {
        if (!isIdentStart(bytes[j]))
            return -1;
        while (j < end && (isIdentStart(bytes[j]) || isDigit(bytes[j])))
            j++;
    }
    return j < end && bytes[j] === DOLLAR ? j + 1 : -1;
}
function indexOfBytes(bytes, needle, from, end) {
    const found = Buffer.from(bytes.buffer, bytes.byteOffset, end).indexOf(needle, from);
    return found;
}

;// CONCATENATED MODULE: ./src/migrations/parse-pieces.ts



/**
 * Parses bytes start..end of `source` as `parser.parseSync` would parse them whole, but piece by
 * piece (sql-pieces.ts): the parser is handed one piece at a time (~16 KB, or one statement up to
 * MAX_STATEMENT_BYTES), and each piece's syntax tree is dropped once its statements are consumed,
 * so memory stays bounded whatever the file's size. Offsets are shifted to be relative to `start`,
 * exactly as a whole parse gives them.
 *
 * Errors are GuardErrors naming file:line:column: a syntax error as the whole parse reports it,
 * a statement too large to parse, or (above that size) a quote or comment that never closes.
 */
function parseInPieces(parser, source, start, end, file, 
/** Piece size (tests use tiny pieces to cut at every boundary). */
pieceBytes = PIECE_BYTES) {
    // Where the statements handed out so far end (a fallback parses the rest of the range at once).
    let parsedTo = start;
    return { stmts: statements() };
    function* statements() {
        for (const piece of parser.knownPieces?.(start, end) ?? piecesOf(source, start, end, pieceBytes)) {
            if (piece.start < parsedTo)
                continue;
            if (piece.firstToken < 0 && !piece.unclosed)
                continue; // whitespace and (closed) comments only
            yield* parsePiece(piece);
        }
    }
    function parseBytes(from, to) {
        return parser.parseRange ? parser.parseRange(source, from, to) : parser.parseSync(source.slice(from, to));
    }
    function parsePiece(piece) {
        refuseOversized(piece);
        let parsed;
        try {
            parsed = parseBytes(piece.start, piece.end);
        }
        catch (error) {
            // The lexer cut where it was sure; should it have been wrong, the rest of the file parsed
            // whole (as before pieces existed) is the reference, when it is small enough to parse.
            if (piece.end === end || end - piece.start > MAX_STATEMENT_BYTES) {
                throw syntaxError(error, piece.start, piece.end);
            }
            try {
                parsed = parseBytes(piece.start, end);
            }
            catch (wholeError) {
                throw syntaxError(wholeError, piece.start, end);
            }
            piece = { ...piece, end };
        }
        parsedTo = piece.end;
        const shift = piece.start - start;
        return (parsed.stmts ?? []).map((raw) => {
            const location = raw.stmt_location ?? 0;
            // Only the range's very last statement may run to its end without a length.
            const length = raw.stmt_len || (piece.end === end ? undefined : piece.end - piece.start - location);
            return { stmt: raw.stmt, stmt_location: shift + location, stmt_len: length, nodeBase: piece.start };
        });
    }
    function refuseOversized(piece) {
        const size = piece.end - piece.start;
        if (size <= MAX_STATEMENT_BYTES)
            return;
        if (piece.unclosed) {
            // What the parser would report, found without handing it the rest of the file.
            throw new GuardError('parse-error', `SQL syntax error: ${piece.unclosed.what} opened here is never closed: the rest of the file (${megabytes(end - piece.unclosed.at)}) would be part of it`, {
                location: { file, ...source.position(piece.unclosed.at) },
                hint: 'Close it; nothing has been run.',
            });
        }
        throw new GuardError('too-large', `Statement of ${megabytes(size)} is larger than the ${megabytes(MAX_STATEMENT_BYTES)} a single statement may have: the SQL parser needs about 65 times a statement's size in memory to split and classify it`, {
            location: { file, ...source.position(piece.firstToken < 0 ? piece.start : piece.firstToken) },
            hint: 'Split it into smaller statements (for example INSERTs of fewer rows each; a file may hold any number of them), ' +
                'or load the data outside the migration (COPY, psql). Nothing has been run.',
        });
    }
    function syntaxError(error, from, to) {
        const details = error.sqlDetails;
        if (!details) {
            // Not a syntax error (the parser itself failed): say so rather than blame the SQL.
            return new GuardError('parse-error', `The SQL parser failed on the ${megabytes(to - from)} of SQL starting here: ${error.message}`, {
                location: { file, ...source.position(from) },
                hint: 'This is not known to be an error in the file: split the file and report the problem. Nothing has been run.',
                cause: error,
            });
        }
        // cursorPosition counts characters (code points) from the start of the text parsed.
        const at = source.byteOffsetOfChar(from, details.cursorPosition, to);
        // Where the parser stopped at a psql meta-command (or the data of a COPY … FROM stdin), say so.
        const psqlFeature = psqlFeatureError(parser, source, start, at, file);
        if (psqlFeature)
            return psqlFeature;
        return new GuardError('parse-error', `SQL syntax error: ${error.message}`, {
            location: { file, ...source.position(at) },
            hint: 'Fix the statement at this position; nothing has been run.',
            cause: error,
        });
    }
}
/**
 * The pieces of bytes start..end. A range under the piece size is one piece whatever it holds (the
 * lexer would cut nowhere before its end), so it goes to the parser whole without being lexed:
 * most migration files are that small.
 */
function piecesOf(source, start, end, pieceBytes = PIECE_BYTES) {
    if (end <= start)
        return []; // the parser refuses empty text
    if (end - start < pieceBytes)
        return [{ start, end, firstToken: start, statements: 1 }];
    return sqlPieces(source.bytes, start, end, pieceBytes);
}
function megabytes(bytes) {
    const mb = bytes / (1024 * 1024);
    return `${mb >= 10 ? Math.round(mb) : Math.round(mb * 10) / 10} MB`;
}


/***/ }),

/***/ 890:
/***/ ((__unused_webpack_module, __webpack_exports__, __nccwpck_require__) => {

/* harmony export */ __nccwpck_require__.d(__webpack_exports__, {
/* harmony export */   D: () => (/* binding */ SourceText)
/* harmony export */ });
/**
 * A migration file's text with the byte-offset bookkeeping the parser needs: libpg-query reports
 * UTF-8 byte offsets, users want 1-based line:column in characters. "Character" means a Unicode
 * code point, as PostgreSQL counts them in error positions (an emoji is one character, not two).
 */
class SourceText {
    encoded;
    decoded;
    lines;
    /**
     * Nothing is computed up front: a run with nothing pending reads files only to checksum them.
     * `bytes`, when the caller has them (the file as read), must be `text` in UTF-8: they are used
     * as they are instead of encoding the text again.
     */
    constructor(text, bytes) {
        if (text === undefined && !bytes)
            throw new Error('SourceText needs its text or its bytes');
        this.decoded = text;
        this.encoded = bytes;
    }
    /**
     * Once the bytes exist (the parser works on them), the string is let go and decoded again only
     * if asked for: a 100 MB data file with one non-ASCII character is a 200 MB string in V8.
     */
    get text() {
        return this.decoded ?? this.bytes.toString('utf8');
    }
    get bytes() {
        this.encoded ??= Buffer.from(this.text, 'utf8');
        this.decoded = undefined;
        return this.encoded;
    }
    /** Length in UTF-8 bytes, without encoding the text. */
    get byteLength() {
        return this.encoded ? this.encoded.length : Buffer.byteLength(this.text, 'utf8');
    }
    get lineStarts() {
        if (!this.lines) {
            const bytes = this.bytes;
            const starts = [0];
            for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1))
                starts.push(i + 1);
            this.lines = starts;
        }
        return this.lines;
    }
    slice(startByte, endByte) {
        return this.bytes.subarray(startByte, endByte).toString('utf8');
    }
    /** 1-based line and column (in characters) of a byte offset. */
    position(byteOffset) {
        let lo = 0;
        let hi = this.lineStarts.length - 1;
        while (lo < hi) {
            const mid = (lo + hi + 1) >> 1;
            if (this.lineStarts[mid] <= byteOffset)
                lo = mid;
            else
                hi = mid - 1;
        }
        // Characters (code points) before it on its line: the bytes that do not continue a UTF-8
        // sequence (the text is valid UTF-8: read-sql.ts refuses anything else), counted in place.
        const bytes = this.bytes;
        let column = 1;
        for (let i = this.lineStarts[lo]; i < byteOffset; i++)
            if ((bytes[i] & 0xc0) !== 0x80)
                column++;
        return { line: lo + 1, column };
    }
    /** Byte offset of a code-point offset inside the substring that starts at `startByte`. */
    byteOffsetOfChar(startByte, charOffset, endByte = this.bytes.length) {
        let bytes = 0;
        let seen = 0;
        for (const char of this.slice(startByte, endByte)) {
            if (seen++ >= charOffset)
                break;
            bytes += Buffer.byteLength(char, 'utf8');
        }
        return startByte + bytes;
    }
}


/***/ }),

/***/ 598:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:crypto");

/***/ }),

/***/ 24:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:fs");

/***/ }),

/***/ 877:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:v8");

/***/ }),

/***/ 919:
/***/ ((module) => {

module.exports = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:worker_threads");

/***/ })

/******/ });
/************************************************************************/
/******/ // The module cache
/******/ var __webpack_module_cache__ = {};
/******/ 
/******/ // The require function
/******/ function __nccwpck_require__(moduleId) {
/******/ 	// Check if module is in cache
/******/ 	var cachedModule = __webpack_module_cache__[moduleId];
/******/ 	if (cachedModule !== undefined) {
/******/ 		return cachedModule.exports;
/******/ 	}
/******/ 	// Create a new module (and put it into the cache)
/******/ 	var module = __webpack_module_cache__[moduleId] = {
/******/ 		// no module.id needed
/******/ 		// no module.loaded needed
/******/ 		exports: {}
/******/ 	};
/******/ 
/******/ 	// Execute the module function
/******/ 	var threw = true;
/******/ 	try {
/******/ 		__webpack_modules__[moduleId](module, module.exports, __nccwpck_require__);
/******/ 		threw = false;
/******/ 	} finally {
/******/ 		if(threw) delete __webpack_module_cache__[moduleId];
/******/ 	}
/******/ 
/******/ 	// Return the exports of the module
/******/ 	return module.exports;
/******/ }
/******/ 
/************************************************************************/
/******/ /* webpack/runtime/asset-relocator-loader */
/******/ if (typeof __nccwpck_require__ !== 'undefined') __nccwpck_require__.ab = decodeURIComponent(new URL('.', import.meta.url).pathname).slice(import.meta.url.match(/^file:\/\/\/\w:/) ? 1 : 0, -1) + "/";
/******/ 
/******/ /* webpack/runtime/async module */
/******/ (() => {
/******/ 	var webpackQueues = typeof Symbol === "function" ? Symbol("webpack queues") : "__webpack_queues__";
/******/ 	var webpackExports = typeof Symbol === "function" ? Symbol("webpack exports") : "__webpack_exports__";
/******/ 	var webpackError = typeof Symbol === "function" ? Symbol("webpack error") : "__webpack_error__";
/******/ 	var resolveQueue = (queue) => {
/******/ 		if(queue && queue.d < 1) {
/******/ 			queue.d = 1;
/******/ 			queue.forEach((fn) => (fn.r--));
/******/ 			queue.forEach((fn) => (fn.r-- ? fn.r++ : fn()));
/******/ 		}
/******/ 	}
/******/ 	var wrapDeps = (deps) => (deps.map((dep) => {
/******/ 		if(dep !== null && typeof dep === "object") {
/******/ 			if(dep[webpackQueues]) return dep;
/******/ 			if(dep.then) {
/******/ 				var queue = [];
/******/ 				queue.d = 0;
/******/ 				dep.then((r) => {
/******/ 					obj[webpackExports] = r;
/******/ 					resolveQueue(queue);
/******/ 				}, (e) => {
/******/ 					obj[webpackError] = e;
/******/ 					resolveQueue(queue);
/******/ 				});
/******/ 				var obj = {};
/******/ 				obj[webpackQueues] = (fn) => (fn(queue));
/******/ 				return obj;
/******/ 			}
/******/ 		}
/******/ 		var ret = {};
/******/ 		ret[webpackQueues] = x => {};
/******/ 		ret[webpackExports] = dep;
/******/ 		return ret;
/******/ 	}));
/******/ 	__nccwpck_require__.a = (module, body, hasAwait) => {
/******/ 		var queue;
/******/ 		hasAwait && ((queue = []).d = -1);
/******/ 		var depQueues = new Set();
/******/ 		var exports = module.exports;
/******/ 		var currentDeps;
/******/ 		var outerResolve;
/******/ 		var reject;
/******/ 		var promise = new Promise((resolve, rej) => {
/******/ 			reject = rej;
/******/ 			outerResolve = resolve;
/******/ 		});
/******/ 		promise[webpackExports] = exports;
/******/ 		promise[webpackQueues] = (fn) => (queue && fn(queue), depQueues.forEach(fn), promise["catch"](x => {}));
/******/ 		module.exports = promise;
/******/ 		body((deps) => {
/******/ 			currentDeps = wrapDeps(deps);
/******/ 			var fn;
/******/ 			var getResult = () => (currentDeps.map((d) => {
/******/ 				if(d[webpackError]) throw d[webpackError];
/******/ 				return d[webpackExports];
/******/ 			}))
/******/ 			var promise = new Promise((resolve) => {
/******/ 				fn = () => (resolve(getResult));
/******/ 				fn.r = 0;
/******/ 				var fnQueue = (q) => (q !== queue && !depQueues.has(q) && (depQueues.add(q), q && !q.d && (fn.r++, q.push(fn))));
/******/ 				currentDeps.map((dep) => (dep[webpackQueues](fnQueue)));
/******/ 			});
/******/ 			return fn.r ? promise : getResult();
/******/ 		}, (err) => ((err ? reject(promise[webpackError] = err) : outerResolve(exports)), resolveQueue(queue)));
/******/ 		queue && queue.d < 0 && (queue.d = 0);
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/compat get default export */
/******/ (() => {
/******/ 	// getDefaultExport function for compatibility with non-harmony modules
/******/ 	__nccwpck_require__.n = (module) => {
/******/ 		var getter = module && module.__esModule ?
/******/ 			() => (module['default']) :
/******/ 			() => (module);
/******/ 		__nccwpck_require__.d(getter, { a: getter });
/******/ 		return getter;
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/create fake namespace object */
/******/ (() => {
/******/ 	var getProto = Object.getPrototypeOf ? (obj) => (Object.getPrototypeOf(obj)) : (obj) => (obj.__proto__);
/******/ 	var leafPrototypes;
/******/ 	// create a fake namespace object
/******/ 	// mode & 1: value is a module id, require it
/******/ 	// mode & 2: merge all properties of value into the ns
/******/ 	// mode & 4: return value when already ns object
/******/ 	// mode & 16: return value when it's Promise-like
/******/ 	// mode & 8|1: behave like require
/******/ 	__nccwpck_require__.t = function(value, mode) {
/******/ 		if(mode & 1) value = this(value);
/******/ 		if(mode & 8) return value;
/******/ 		if(typeof value === 'object' && value) {
/******/ 			if((mode & 4) && value.__esModule) return value;
/******/ 			if((mode & 16) && typeof value.then === 'function') return value;
/******/ 		}
/******/ 		var ns = Object.create(null);
/******/ 		__nccwpck_require__.r(ns);
/******/ 		var def = {};
/******/ 		leafPrototypes = leafPrototypes || [null, getProto({}), getProto([]), getProto(getProto)];
/******/ 		for(var current = mode & 2 && value; typeof current == 'object' && !~leafPrototypes.indexOf(current); current = getProto(current)) {
/******/ 			Object.getOwnPropertyNames(current).forEach((key) => (def[key] = () => (value[key])));
/******/ 		}
/******/ 		def['default'] = () => (value);
/******/ 		__nccwpck_require__.d(ns, def);
/******/ 		return ns;
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/define property getters */
/******/ (() => {
/******/ 	// define getter functions for harmony exports
/******/ 	__nccwpck_require__.d = (exports, definition) => {
/******/ 		for(var key in definition) {
/******/ 			if(__nccwpck_require__.o(definition, key) && !__nccwpck_require__.o(exports, key)) {
/******/ 				Object.defineProperty(exports, key, { enumerable: true, get: definition[key] });
/******/ 			}
/******/ 		}
/******/ 	};
/******/ })();
/******/ 
/******/ /* webpack/runtime/hasOwnProperty shorthand */
/******/ (() => {
/******/ 	__nccwpck_require__.o = (obj, prop) => (Object.prototype.hasOwnProperty.call(obj, prop))
/******/ })();
/******/ 
/******/ /* webpack/runtime/make namespace object */
/******/ (() => {
/******/ 	// define __esModule on exports
/******/ 	__nccwpck_require__.r = (exports) => {
/******/ 		if(typeof Symbol !== 'undefined' && Symbol.toStringTag) {
/******/ 			Object.defineProperty(exports, Symbol.toStringTag, { value: 'Module' });
/******/ 		}
/******/ 		Object.defineProperty(exports, '__esModule', { value: true });
/******/ 	};
/******/ })();
/******/ 
/************************************************************************/
/******/ 
/******/ // startup
/******/ // Load entry module and return exports
/******/ // This entry module used 'module' so it can't be inlined
/******/ var __webpack_exports__ = __nccwpck_require__(181);
/******/ __webpack_exports__ = await __webpack_exports__;
/******/ 
